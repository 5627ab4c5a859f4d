// Preloaded by the npm scripts (node --import) before any TypeScript is loaded: on an older Node
// the .ts entry would fail with ERR_UNKNOWN_FILE_EXTENSION, which says nothing useful.
// Plain JavaScript on purpose, so that it runs on any Node version.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `secure-export: Node.js ${process.versions.node} is too old; it needs 22.18 or later (Node 24 LTS recommended), ` +
      "which runs TypeScript without a build step. Install it from https://nodejs.org or with your version manager.",
  );
  process.exit(2);
}
