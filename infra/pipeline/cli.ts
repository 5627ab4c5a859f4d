/**
 * The logic the GitOps workflows need, as commands (kept out of YAML so it is tested):
 *
 *   node infra/pipeline/cli.ts stack-name --pr 42
 *   node infra/pipeline/cli.ts seed-preview --pr 42 --template Pulumi.dev.yaml   (writes Pulumi.pr-42.yaml)
 *   node infra/pipeline/cli.ts image-tag --sha <commit>
 *   node infra/pipeline/cli.ts image-ref --registry x.azurecr.io --repository secure-export-receiver --digest sha256:…
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { imageByDigest, imageTag } from "./image-reference.ts";
import { previewStackName, seedPreviewConfig } from "./preview-stack.ts";

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    pr: { type: "string" },
    template: { type: "string", default: "Pulumi.dev.yaml" },
    sha: { type: "string" },
    registry: { type: "string" },
    repository: { type: "string", default: "secure-export-receiver" },
    digest: { type: "string" },
  },
});

function required(name: keyof typeof values): string {
  const value = values[name];
  if (!value) throw new Error(`${command} needs --${name}`);
  return value;
}

try {
  switch (command) {
    case "stack-name":
      console.log(previewStackName(required("pr")));
      break;
    case "seed-preview": {
      const stack = previewStackName(required("pr"));
      const file = `Pulumi.${stack}.yaml`;
      // An existing file belongs to the stack (it holds its encryption salt): never overwrite it.
      if (existsSync(file)) {
        console.error(`${file} exists; keeping it`);
      } else {
        const seeded = seedPreviewConfig(readFileSync(required("template"), "utf8"), required("pr"));
        writeFileSync(file, seeded.yaml);
        for (const key of seeded.droppedSecrets) console.error(`warning: secret ${key} was not copied; set it on ${stack} to use it`);
      }
      console.log(stack);
      break;
    }
    case "image-tag":
      console.log(imageTag(required("sha")));
      break;
    case "image-ref":
      console.log(imageByDigest(required("registry"), required("repository"), required("digest")));
      break;
    default:
      throw new Error(`unknown command "${command ?? ""}": stack-name, seed-preview, image-tag or image-ref`);
  }
} catch (error) {
  console.error(`pipeline: ${(error as Error).message}`);
  process.exit(2);
}
