/**
 * The logic the GitOps workflows need, as commands (kept out of YAML so it is tested). Answers go
 * to stdout as `key=value` lines a workflow appends to $GITHUB_OUTPUT; progress and warnings go to
 * stderr. Any failure exits non-zero with `pipeline: <CODE> <message>`.
 *
 *   node infra/pipeline/cli.ts image-tag --sha <commit>                          → sha-0123456789ab
 *   node infra/pipeline/cli.ts image-ref --registry x.azurecr.io --digest sha256:… → x.azurecr.io/secure-export-receiver@sha256:…
 *   node infra/pipeline/cli.ts seed-preview --pr 42 --template Pulumi.dev.yaml --identity-stack org/secure-export/preview-identity \
 *        --image x.azurecr.io/secure-export-receiver@sha256:… --registry-id /subscriptions/…/registries/x   (writes Pulumi.pr-42.yaml) → pr-42
 *   node infra/pipeline/cli.ts record-image --stack dev --image x.azurecr.io/…@sha256:… --registry-id /subscriptions/…
 *        writes both into the committed Pulumi.dev.yaml → changed=true|false
 *   node infra/pipeline/cli.ts preview-reconcile --pr 42
 *        reads the PR's state from GitHub now: open → `action=up` (the caller seeds and brings up the
 *        stack); closed or no such PR → destroys and removes pr-42 if it exists, `action=destroy`,
 *        else `action=none`. Also prints `stack=pr-42`.
 *   node infra/pipeline/cli.ts closed-previews                                     → prs=[3,17] (pr-* stacks whose PR is not open)
 *   node infra/pipeline/cli.ts deploy-order --sha <commit> [--main origin/main]
 *        whether this run's commit is the newest code on main (deploy-order.ts) → newest=true|false
 *   node infra/pipeline/cli.ts resource-providers                                  → the Azure resource provider namespaces the
 *        program needs registered, one a line (infra/resource-providers.ts), for `az provider register`
 *
 * preview-reconcile and closed-previews need GITHUB_REPOSITORY, GITHUB_TOKEN (and GITHUB_API_URL on
 * GitHub Enterprise Server) and a logged-in Pulumi CLI.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { PipelineError } from "./errors.ts";
import { gitHubRepositoryFromEnv, pullRequestState } from "./github.ts";
import { imageByDigest, imageTag } from "./image-reference.ts";
import { findPreviewStack, previewAction, previewStackNumbers } from "./preview-lifecycle.ts";
import { previewStackName, seedPreviewConfig } from "./preview-stack.ts";
import { pulumiCli } from "./pulumi-cli.ts";
import { RESOURCE_PROVIDERS } from "../resource-providers.ts";
import { recordImage } from "./stack-file.ts";
import { deployOrder } from "./deploy-order.ts";
import { commitsAfter, isAncestor } from "./git.ts";

const COMMANDS = "image-tag, image-ref, seed-preview, record-image, deploy-order, preview-reconcile, closed-previews or resource-providers";

const [command, ...rest] = process.argv.slice(2);

function options() {
  try {
    return parseArgs({
      args: rest,
      options: {
        pr: { type: "string" },
        template: { type: "string", default: "Pulumi.dev.yaml" },
        "identity-stack": { type: "string" },
        image: { type: "string" },
        "registry-id": { type: "string" },
        stack: { type: "string" },
        sha: { type: "string" },
        registry: { type: "string" },
        repository: { type: "string", default: "secure-export-receiver" },
        digest: { type: "string" },
        main: { type: "string", default: "origin/main" },
      },
    }).values;
  } catch (error) {
    throw new PipelineError("BAD_ARGUMENT", (error as Error).message);
  }
}

async function main(): Promise<void> {
  const values = options();
  const required = (name: keyof typeof values): string => {
    const value = values[name];
    if (!value) throw new PipelineError("BAD_ARGUMENT", `${command} needs --${name}`);
    return value;
  };

  switch (command) {
    case "seed-preview": {
      const stack = previewStackName(required("pr"));
      const file = `Pulumi.${stack}.yaml`;
      // An existing file belongs to the stack (it may hold its encryption salt): never overwrite it.
      if (existsSync(file)) {
        console.error(`${file} exists; keeping it`);
      } else {
        const seeded = seedPreviewConfig(readFileSync(required("template"), "utf8"), required("pr"), {
          identityStack: required("identity-stack"),
          image: required("image"),
          imageRegistryId: required("registry-id"),
        });
        writeFileSync(file, seeded.yaml);
        for (const key of seeded.droppedSecrets) console.error(`warning: secret ${key} was not copied; set it on ${stack} to use it`);
      }
      console.log(stack);
      return;
    }
    case "record-image": {
      const stack = required("stack");
      const file = `Pulumi.${stack}.yaml`;
      // The file is created once with the stack (it may hold the stack's encryption salt) and committed.
      if (!existsSync(file)) throw new PipelineError("BAD_ARGUMENT", `${file} does not exist: create the stack and commit its file first (docs/deploy/pipelines.md)`);
      const recorded = recordImage(readFileSync(file, "utf8"), required("image"), required("registry-id"));
      if (recorded.changed) writeFileSync(file, recorded.yaml);
      console.error(recorded.changed ? `${file}: ${stack} now runs ${values.image}` : `${file} already names ${values.image}`);
      console.log(`changed=${recorded.changed}`);
      return;
    }
    case "image-tag":
      console.log(imageTag(required("sha")));
      return;
    case "image-ref":
      console.log(imageByDigest(required("registry"), required("repository"), required("digest")));
      return;
    case "preview-reconcile": {
      const stack = previewStackName(required("pr"));
      const pr = Number(stack.slice(3));
      const state = await pullRequestState(gitHubRepositoryFromEnv(process.env), pr);
      const cli = pulumiCli(process.cwd());
      const existing = state === "open" ? undefined : findPreviewStack(await cli.listStacks(), pr);
      const action = previewAction(state, existing !== undefined);
      console.error(`pull request #${pr} is ${state}: ${action === "up" ? `${stack} may be brought up` : action === "destroy" ? `destroying and removing ${existing}` : `${stack} does not exist, nothing to do`}`);
      if (existing !== undefined && action === "destroy") await cli.destroyAndRemove(existing);
      console.log(`action=${action}\nstack=${stack}`);
      return;
    }
    case "closed-previews": {
      const github = gitHubRepositoryFromEnv(process.env);
      const closed: number[] = [];
      for (const pr of previewStackNumbers(await pulumiCli(process.cwd()).listStacks())) {
        const state = await pullRequestState(github, pr);
        console.error(`pr-${pr}: pull request ${state}`);
        if (state !== "open") closed.push(pr);
      }
      console.log(`prs=${JSON.stringify(closed)}`);
      return;
    }
    case "deploy-order": {
      const sha = required("sha");
      const main = values.main!;
      const onMain = isAncestor(process.cwd(), sha, main);
      const order = deployOrder(sha, onMain, onMain ? commitsAfter(process.cwd(), sha, main) : []);
      console.error(order.reason);
      console.log(`newest=${order.newest}`);
      return;
    }
    case "resource-providers":
      console.log(RESOURCE_PROVIDERS.join("\n"));
      return;
    default:
      throw new PipelineError("BAD_ARGUMENT", `unknown command "${command ?? ""}": ${COMMANDS}`);
  }
}

try {
  await main();
} catch (error) {
  const code = error instanceof PipelineError ? error.code : "UNEXPECTED";
  console.error(`pipeline: ${code} ${(error as Error).message}`);
  process.exit(2);
}
