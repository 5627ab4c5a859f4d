#!/usr/bin/env node
// `npx secure-export`'s entry (the bin): plain JavaScript, so that on a Node.js too old to run
// TypeScript it still gets as far as saying so in one line, instead of ERR_UNKNOWN_FILE_EXTENSION.
await import("../src/node-version.mjs");
await import("./secure-export.ts");
