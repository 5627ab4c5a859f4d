/** The logic behind the GitOps workflows (infra/pipeline/), and the workflow linter CI runs. */
import { createServer, type Server } from "node:http";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { pullRequestState } from "../../infra/pipeline/github.ts";
import { checkImageByDigest, checkRegistryId, imageByDigest, imageTag } from "../../infra/pipeline/image-reference.ts";
import { findPreviewStack, previewAction, previewStackNumbers } from "../../infra/pipeline/preview-lifecycle.ts";
import { previewStackName, seedPreviewConfig, type PreviewSource } from "../../infra/pipeline/preview-stack.ts";
import { recordImage } from "../../infra/pipeline/stack-file.ts";
import { deployOrder, isDeployRecord, type CommitChange } from "../../infra/pipeline/deploy-order.ts";
import { parseStackConfig } from "../../infra/stack-config.ts";
import { run } from "../support/processes.ts";
import { REPO_ROOT } from "../support/paths.ts";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;
const REGISTRY_ID = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/secexp-previews/providers/Microsoft.ContainerRegistry/registries/contosopreviews";
const SOURCE: PreviewSource = {
  identityStack: "organization/secure-export/preview-identity",
  image: `contosopreviews.azurecr.io/secure-export-receiver@${DIGEST}`,
  imageRegistryId: REGISTRY_ID,
};
const cli = join(REPO_ROOT, "infra/pipeline/cli.ts");

describe("preview stacks", () => {
  it("are named pr-<number>", () => {
    expect(previewStackName(42)).toBe("pr-42");
    expect(previewStackName("7")).toBe("pr-7");
    for (const bad of ["0", "-1", "4.2", "abc", ""]) expect(() => previewStackName(bad)).toThrow("pull request number must be a positive integer");
  });

  it("are seeded from the template with preview settings, the PR's image and the shared preview application, leaving out secrets and the template's own identity settings", async () => {
    const template = [
      // dev's own owners line is replaced by one with a value, below.
      (await readFile(join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")).replace(/^ {2}secure-export:owners:.*\n/m, ""),
      "  secure-export:servicenowPassword:\n    secure: v1:abc\n",
      "  secure-export:image: registry/x@sha256:1\n",
      "  secure-export:readers: [a]\n  secure-export:owners: [b]\n  secure-export:operators: [c]\n  secure-export:identityOnly: true\n",
    ].join("");
    const seeded = seedPreviewConfig(template, 1234, SOURCE);
    const config = (parse(seeded.yaml) as { config: Record<string, unknown> }).config;
    expect(config).toMatchObject({
      "azure-native:location": "westeurope",
      "secure-export:location": "westeurope",
      "secure-export:identityStack": SOURCE.identityStack,
      "secure-export:image": SOURCE.image,
      "secure-export:imageRegistryId": REGISTRY_ID,
      "secure-export:databaseMode": "embedded",
      "secure-export:minReplicas": 1,
      "secure-export:maxReplicas": 1,
      "secure-export:protect": false,
      "secure-export:exampleAlertRules": false,
      "secure-export:actionGroupShortName": "pr1234",
    });
    for (const key of ["servicenowPassword", "readers", "owners", "operators", "identityOnly", "namePrefix"]) expect(config[`secure-export:${key}`]).toBeUndefined();
    expect(seeded.droppedSecrets).toEqual(["secure-export:servicenowPassword"]);
    // What it writes is a valid preview configuration for the program.
    const raw = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith("secure-export:")).map(([k, v]) => [k.slice("secure-export:".length), String(v)]));
    expect(parseStackConfig("pr-1234", raw)).toMatchObject({ preview: true, databaseMode: "embedded", protect: false, maxReplicas: 1, image: SOURCE.image });
  });

  it("refuse an identity stack that is not fully qualified, an image by tag and a malformed registry id", () => {
    expect(() => seedPreviewConfig("config: {}\n", 1, { ...SOURCE, identityStack: "preview-identity" })).toThrow('identity stack must be a fully qualified stack name org/project/stack, got "preview-identity"');
    expect(() => seedPreviewConfig("config: {}\n", 1, { ...SOURCE, image: "contosopreviews.azurecr.io/secure-export-receiver:pr-1" })).toThrow("image must be registry/repository@sha256:<digest>");
    expect(() => seedPreviewConfig("config: {}\n", 1, { ...SOURCE, imageRegistryId: "contosopreviews" })).toThrow("registry id must be /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>");
  });

  it("keep the short name within Azure's 12 characters for any PR number", () => {
    const config = (parse(seedPreviewConfig("config: {}\n", 9_999_999_999, SOURCE).yaml) as { config: Record<string, string> }).config;
    expect(config["secure-export:actionGroupShortName"]!.length).toBeLessThanOrEqual(12);
  });

  it("seed-preview writes the stack file once and never overwrites it; bad input exits 2 with a stable code", async () => {
    const dir = await mkdtemp(join(tmpdir(), "secure-export-pipeline-"));
    try {
      const env = { PATH: process.env.PATH };
      await writeFile(join(dir, "Pulumi.dev.yaml"), "config:\n  secure-export:location: northeurope\n");
      const args = ["--identity-stack", SOURCE.identityStack, "--image", SOURCE.image, "--registry-id", REGISTRY_ID];
      const first = await run([cli, "seed-preview", "--pr", "5", "--template", "Pulumi.dev.yaml", ...args], env, 30_000, dir);
      expect(first).toMatchObject({ code: 0, stdout: "pr-5\n" });
      expect(await readFile(join(dir, "Pulumi.pr-5.yaml"), "utf8")).toContain("secure-export:location: northeurope");
      await writeFile(join(dir, "Pulumi.pr-5.yaml"), "config: {}\nencryptionsalt: keep-me\n");
      await run([cli, "seed-preview", "--pr", "5", ...args], env, 30_000, dir);
      expect(await readFile(join(dir, "Pulumi.pr-5.yaml"), "utf8")).toContain("keep-me");
      expect(await run([cli, "seed-preview", "--pr", "6", "--image", SOURCE.image], env, 30_000, dir)).toMatchObject({ code: 2, stderr: "pipeline: BAD_ARGUMENT seed-preview needs --identity-stack\n" });
      expect(await run([cli, "seed-preview", "--pr", "x"], env, 30_000, dir)).toMatchObject({ code: 2, stderr: 'pipeline: BAD_ARGUMENT pull request number must be a positive integer, got "x"\n' });
      expect(await run([cli, "deploy-everything"], env, 30_000, dir)).toMatchObject({ code: 2, stderr: expect.stringContaining('pipeline: BAD_ARGUMENT unknown command "deploy-everything"') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("preview lifecycle", () => {
  it("brings a stack up only for an open PR, destroys an existing one otherwise, and does nothing for a missing one", () => {
    expect(previewAction("open", false)).toBe("up");
    expect(previewAction("open", true)).toBe("up");
    expect(previewAction("closed", true)).toBe("destroy");
    expect(previewAction("missing", true)).toBe("destroy");
    expect(previewAction("closed", false)).toBe("none");
    expect(previewAction("missing", false)).toBe("none");
  });

  it("finds preview stacks by number in short and fully qualified names, ignoring look-alikes", () => {
    const names = ["dev", "pr-3", "organization/secure-export/pr-12", "pr-3", "pr-0", "pr-03", "pr-x", "prod", "myorg/pr-7"];
    expect(previewStackNumbers(names)).toEqual([3, 7, 12]);
    expect(findPreviewStack(names, 12)).toBe("organization/secure-export/pr-12");
    expect(findPreviewStack(names, 4)).toBeUndefined();
  });
});

describe("pull request state from the GitHub REST API", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  // GET /repos/{owner}/{repo}/pulls/{pull_number} → { state: "open" | "closed" }, 404 when no such PR
  // (https://docs.github.com/rest/pulls/pulls#get-a-pull-request).
  async function github(answer: (url: string, auth: string | undefined) => [number, unknown]): Promise<string> {
    server = createServer((req, res) => {
      const [status, body] = answer(req.url ?? "", req.headers.authorization);
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  it("reads open, closed and missing, sending the token", async () => {
    const apiUrl = await github((url, auth) => (auth !== "Bearer t" ? [401, {}] : url.endsWith("/pulls/1") ? [200, { state: "open" }] : url.endsWith("/pulls/2") ? [200, { state: "closed" }] : [404, { message: "Not Found" }]));
    const repo = { apiUrl, repository: "contoso/secure-export", token: "t" };
    expect(await pullRequestState(repo, 1)).toBe("open");
    expect(await pullRequestState(repo, 2)).toBe("closed");
    expect(await pullRequestState(repo, 3)).toBe("missing");
  });

  it("fails instead of guessing on any other answer, so no stack is destroyed on a hiccup", async () => {
    const apiUrl = await github((url) => (url.endsWith("/pulls/1") ? [502, { message: "Bad gateway" }] : url.endsWith("/pulls/2") ? [401, { message: "Bad credentials" }] : [200, { state: "merged?" }]));
    const repo = { apiUrl, repository: "contoso/secure-export", token: "t" };
    await expect(pullRequestState(repo, 1)).rejects.toMatchObject({ code: "GITHUB_API", message: expect.stringContaining("answered 502") });
    await expect(pullRequestState(repo, 2)).rejects.toMatchObject({ code: "GITHUB_API", message: expect.stringContaining("answered 401") });
    await expect(pullRequestState(repo, 3)).rejects.toMatchObject({ code: "GITHUB_API", message: expect.stringContaining('no pull request state (state: "merged?")') });
  });

  it("preview-reconcile names the missing variable when the workflow forgot GITHUB_TOKEN", async () => {
    const result = await run([cli, "preview-reconcile", "--pr", "3"], { PATH: process.env.PATH, GITHUB_REPOSITORY: "contoso/secure-export" });
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining("pipeline: MISSING_ENVIRONMENT GITHUB_TOKEN is unset") });
  });
});

describe("image references", () => {
  it("tag by commit and deploy by digest", () => {
    expect(imageTag("0123456789abcdef0123456789abcdef01234567")).toBe("sha-0123456789ab");
    expect(imageByDigest("contoso.azurecr.io", "secure-export-receiver", DIGEST)).toBe(`contoso.azurecr.io/secure-export-receiver@${DIGEST}`);
    expect(checkImageByDigest(`contoso.azurecr.io/secure-export-receiver@${DIGEST}`)).toBe(`contoso.azurecr.io/secure-export-receiver@${DIGEST}`);
    expect(checkRegistryId(REGISTRY_ID)).toBe(REGISTRY_ID);
  });
  it.each([
    [() => imageTag("main"), "not a git commit sha"],
    [() => imageTag(""), "not a git commit sha"],
    [() => imageByDigest("contoso.azurecr.io", "secure-export-receiver", "latest"), "not an image digest"],
    [() => imageByDigest("contoso.azurecr.io", "secure-export-receiver", ""), "not an image digest"],
    [() => imageByDigest("https://contoso.azurecr.io", "r", DIGEST), "not a registry host"],
    [() => imageByDigest("contoso.azurecr.io", "Receiver", DIGEST), "not a repository name"],
    [() => checkImageByDigest("secure-export-receiver@sha256:1"), "image must be registry/repository@sha256:<digest>"],
    [() => checkImageByDigest(`contoso.azurecr.io/secure-export-receiver:${DIGEST}`), "image must be registry/repository@sha256:<digest>"],
  ])("refuse bad input (%#)", (call, message) => {
    expect(call).toThrow(message);
  });
});

describe("recording the image in a committed stack file", () => {
  const image = `contoso.azurecr.io/secure-export-receiver@${DIGEST}`;
  const registry = REGISTRY_ID.replace("contosopreviews", "contososhared");

  it("sets only the two image keys, keeping comments, other keys and the encryption salt", async () => {
    const before = `${await readFile(join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")}encryptionsalt: v1:keep:me\n`;
    const recorded = recordImage(before, image, registry);
    expect(recorded.changed).toBe(true);
    const after = parse(recorded.yaml) as { config: Record<string, unknown>; encryptionsalt: string };
    expect(after.config).toEqual({ ...(parse(before) as { config: object }).config, "secure-export:image": image, "secure-export:imageRegistryId": registry });
    expect(after.encryptionsalt).toBe("v1:keep:me");
    expect(recorded.yaml.split("\n").slice(0, 2)).toEqual(before.split("\n").slice(0, 2));
    expect(recordImage(recorded.yaml, image, registry)).toEqual({ yaml: recorded.yaml, changed: false });
    expect(parse(recordImage("encryptionsalt: x\n", image, registry).yaml)).toEqual({ encryptionsalt: "x", config: { "secure-export:image": image, "secure-export:imageRegistryId": registry } });
  });

  it("refuses a tag, a bad registry id and a broken file", () => {
    expect(() => recordImage("config: {}\n", "contoso.azurecr.io/secure-export-receiver:latest", registry)).toThrow("image must be registry/repository@sha256:<digest>");
    expect(() => recordImage("config: {}\n", image, "/subscriptions/x")).toThrow("registry id must be");
    expect(() => recordImage("config: [\n", image, registry)).toThrow("stack file is not valid YAML");
  });

  it("record-image refuses a stack whose file was never committed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "secure-export-pipeline-"));
    try {
      const result = await run([cli, "record-image", "--stack", "prod", "--image", image, "--registry-id", registry], { PATH: process.env.PATH }, 30_000, dir);
      expect(result).toMatchObject({ code: 2, stderr: "pipeline: BAD_ARGUMENT Pulumi.prod.yaml does not exist: create the stack and commit its file first (docs/deploy/pipelines.md)\n" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("deploy order: only the newest commit of main is deployed", () => {
  const before = "# dev\nconfig:\n  secure-export:maxReplicas: 3\n  secure-export:image: old.azurecr.io/r@sha256:1\n";
  const change = (files: CommitChange["files"], subject = "a change"): CommitChange => ({ sha: "b".repeat(40), subject, files });
  const record = change([{ path: "Pulumi.dev.yaml", before, after: before.replace("sha256:1", "sha256:2") }], "deploy: dev runs …");

  it("a commit changing only the image keys of a stack file is a deploy record; anything else is code", () => {
    expect(isDeployRecord(record)).toBe(true);
    expect(isDeployRecord(change([{ path: "Pulumi.dev.yaml", before, after: before.replace("maxReplicas: 3", "maxReplicas: 4") }]))).toBe(false);
    expect(isDeployRecord(change([{ path: "Pulumi.dev.yaml", before, after: before.replace("sha256:1", "sha256:2") }, { path: "infra/index.ts", before: "a", after: "b" }]))).toBe(false);
    expect(isDeployRecord(change([{ path: "Pulumi.staging.yaml", before: undefined, after: before }]))).toBe(false);
    expect(isDeployRecord(change([{ path: "Pulumi.dev.yaml", before, after: "config: [" }]))).toBe(false);
    expect(isDeployRecord(change([]))).toBe(false);
  });

  it("a run deploys when only records follow its commit, and stands down after newer code or a rewritten main", () => {
    const sha = "a".repeat(40);
    expect(deployOrder(sha, true, [])).toEqual({ newest: true, reason: "aaaaaaaaaaaa is the newest code on main: deploying it" });
    expect(deployOrder(sha, true, [record, record]).newest).toBe(true);
    const later = deployOrder(sha, true, [record, change([{ path: "infra/index.ts", before: "a", after: "b" }], "B: newer code")]);
    expect(later).toEqual({ newest: false, reason: 'main has 1 newer commit than aaaaaaaaaaaa (latest bbbbbbbbbbbb "B: newer code"): the run of that commit deploys it; this run deploys nothing' });
    expect(deployOrder(sha, false, []).reason).toContain("is no longer on main");
  });
});

describe("workflow lint", () => {
  const lint = (dir: string) => run([join(REPO_ROOT, ".ci/lint-workflows.ts"), dir], { PATH: process.env.PATH }, 60_000, REPO_ROOT);

  it("passes the project's workflows", async () => {
    const result = await lint(join(REPO_ROOT, ".github/workflows"));
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/actionlint: [1-9]\d* workflows, 0 problems/);
  });

  it("fails a broken workflow, naming the problem", async () => {
    const dir = await mkdtemp(join(tmpdir(), "secure-export-workflows-"));
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "broken.yml"), "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing-job\n    steps:\n      - run: echo ${{ github.event.nope.x }\n");
      const result = await lint(dir);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("missing-job");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
