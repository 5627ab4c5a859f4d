/**
 * Every job of every workflow, replayed in a clean checkout (no node_modules until the job's own
 * `npm ci`), with stand-ins for Azure, Pulumi and GitHub (test/support/workflow-replay.ts). What a
 * user would see on the first real run: the commands work in the state their job is in, failures
 * fail, deploys record what runs in git, and a preview stack never outlives its pull request.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { loadWorkflows, type Job } from "../../.ci/workflow-model.ts";
import { REPO_ROOT } from "../support/paths.ts";
import { createWorld, originFile, originLog, replayJob, REPOSITORY, type JobContext, type World } from "../support/workflow-replay.ts";
import { RESOURCE_PROVIDERS } from "../../infra/resource-providers.ts";

const workflows = loadWorkflows(join(REPO_ROOT, ".github/workflows"), REPO_ROOT);
const job = (file: string, id: string): Job => {
  const found = workflows.find((w) => w.file.endsWith(file))?.jobs.find((j) => j.id === id);
  if (!found) throw new Error(`${file} has no job ${id}`);
  return found;
};

const SHARED_ACR_ID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/secexp-shared/providers/Microsoft.ContainerRegistry/registries/contososhared";
const PREVIEW_ACR_ID = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/secexp-previews/providers/Microsoft.ContainerRegistry/registries/contosopreviews";
const vars = {
  AZURE_TENANT_ID: "tenant",
  AZURE_CLIENT_ID: "dev-or-prod-app",
  AZURE_SUBSCRIPTION_ID: "sub",
  PULUMI_BACKEND_URL: "azblob://pulumi-dev",
  PULUMI_STATE_STORAGE_ACCOUNT: "contosostate",
  SHARED_ACR_NAME: "contososhared",
  SHARED_ACR_ID,
  PREVIEW_AZURE_CLIENT_ID: "pr-app",
  PREVIEW_AZURE_SUBSCRIPTION_ID: "preview-sub",
  PREVIEW_PULUMI_BACKEND_URL: "azblob://pulumi-previews",
  PREVIEW_PULUMI_STATE_STORAGE_ACCOUNT: "contosostate",
  PREVIEW_ACR_NAME: "contosopreviews",
  PREVIEW_ACR_ID,
  PREVIEW_IDENTITY_STACK: "organization/secure-export/preview-identity",
};
const secrets = { PULUMI_CONFIG_PASSPHRASE: "p", PREVIEW_PULUMI_CONFIG_PASSPHRASE: "q" };
const prEvent = (action: string, number = 7): JobContext => ({
  eventName: "pull_request",
  event: { action, number, pull_request: { number, head: { repo: { full_name: REPOSITORY } } } },
  vars,
  secrets,
});
// Pulumi.prod.yaml is committed with the prod stack (docs/deploy/pipelines.md, step 7); a checkout
// without one still replays the deploy against a minimal file.
const prodFile: Record<string, string> = existsSync(join(REPO_ROOT, "Pulumi.prod.yaml")) ? {} : { "Pulumi.prod.yaml": "config:\n  secure-export:location: westeurope\n" };

// A job replay starts bash, node and git several times per step; on a loaded CI machine a test
// replaying a whole workflow takes minutes, not the default 30 s.
const REPLAY_TIMEOUT = 300_000;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const failures = (result: Awaited<ReturnType<typeof replayJob>>) => result.steps.filter((s) => s.outcome === "failure").map((s) => `${s.label}\n${s.stdout}\n${s.stderr}`);

describe("main.yml: build once, deploy and record the digest", { timeout: REPLAY_TIMEOUT }, () => {
  it("builds the image, deploys dev from a committed Pulumi.dev.yaml naming it, then prod with the same digest", async () => {
    world = await createWorld({ stacks: ["dev", "prod"], files: prodFile });
    const image = await replayJob(world, job("main.yml", "image"), { vars, secrets });
    expect(failures(image)).toEqual([]);
    const ref = image.outputs.ref!;
    expect(ref).toMatch(/^contososhared\.azurecr\.io\/secure-export-receiver@sha256:[0-9a-f]{64}$/);
    expect(world.calls()).toContainEqual(["az", "acr", "login", "--name", "contososhared"]);

    const needs = { image: { outputs: { ref }, result: "success" } };
    const dev = await replayJob(world, job("main.yml", "deploy-dev"), { vars, secrets, needs });
    expect(failures(dev)).toEqual([]);
    // `up` ran from a tree whose committed stack file names the image…
    expect(dev.pulumiActions).toHaveLength(1);
    expect(dev.pulumiActions[0]).toMatchObject({ command: "up", stack: "dev" });
    expect(dev.pulumiActions[0]!.with["config-map"]).toBeUndefined();
    expect(parse(dev.pulumiActions[0]!.stackFile!).config).toMatchObject({ "secure-export:image": ref, "secure-export:imageRegistryId": SHARED_ACR_ID });
    // …and main now says so, in a commit that starts no new run.
    expect(originLog(world)[0]).toBe(`deploy: dev runs ${ref} [skip ci]`);
    expect(parse(originFile(world, "Pulumi.dev.yaml")).config["secure-export:image"]).toBe(ref);
    // The rest of the file (comments, other keys) is untouched.
    expect(originFile(world, "Pulumi.dev.yaml")).toContain(readFileSync(join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8").split("\n")[0]);

    // Production checks out the run's commit, not dev's record: its record is made on main as it is now.
    expect(dev.outputs.deployed).toBe("true");
    const prod = await replayJob(world, job("main.yml", "deploy-production"), { vars, secrets, needs: { ...needs, "deploy-dev": { outputs: dev.outputs, result: "success" } } });
    expect(failures(prod)).toEqual([]);
    expect(parse(prod.pulumiActions[0]!.stackFile!).config).toMatchObject({ "secure-export:image": ref });
    expect(originLog(world).slice(0, 2)).toEqual([`deploy: prod runs ${ref} [skip ci]`, `deploy: dev runs ${ref} [skip ci]`]);
    expect(parse(originFile(world, "Pulumi.prod.yaml")).config["secure-export:image"]).toBe(ref);
    expect(parse(originFile(world, "Pulumi.dev.yaml")).config["secure-export:image"]).toBe(ref);
  });

  it("a deploy of a stack whose file was never committed fails before anything changes, saying what to do", async () => {
    world = await createWorld({ stacks: ["prod"], files: {}, without: ["Pulumi.prod.yaml"] });
    const ref = `contososhared.azurecr.io/secure-export-receiver@sha256:${"a".repeat(64)}`;
    const prod = await replayJob(world, job("main.yml", "deploy-production"), { vars, secrets, needs: { image: { outputs: { ref }, result: "success" }, "deploy-dev": { outputs: { deployed: "true" }, result: "success" } } });
    expect(prod.ok).toBe(false);
    expect(failures(prod).join("\n")).toContain("pipeline: BAD_ARGUMENT Pulumi.prod.yaml does not exist: create the stack and commit its file first");
    expect(prod.pulumiActions).toEqual([]);
    expect(originLog(world)).toEqual(["the commit under test"]);
  });
});

describe("main.yml: merges close together and approvals out of order end on the newest commit", { timeout: REPLAY_TIMEOUT }, () => {
  const refA = `contososhared.azurecr.io/secure-export-receiver@sha256:${"a".repeat(64)}`;
  const refB = `contososhared.azurecr.io/secure-export-receiver@sha256:${"b".repeat(64)}`;
  const run = (sha: string, ref: string, extra: Partial<JobContext> = {}): JobContext => ({ vars, secrets, sha, needs: { image: { outputs: { ref }, result: "success" } }, ...extra });
  const afterDev = (sha: string, ref: string, dev: Awaited<ReturnType<typeof replayJob>>): JobContext =>
    run(sha, ref, { needs: { image: { outputs: { ref }, result: "success" }, "deploy-dev": { outputs: dev.outputs, result: dev.ok ? "success" : "failure" } } });
  const recorded = (stack: string) => parse(originFile(world!, `Pulumi.${stack}.yaml`)).config["secure-export:image"];
  /** A second merge: a code change, as a pull request's squash commit would bring. */
  const mergeB = () => world!.merge({ "receiver/src/version-note.txt": "B\n" }, "B: a change merged right after A");

  it("B merged while A's deploy-dev runs: both deploys succeed, and dev, prod and main all name B's image", async () => {
    world = await createWorld({ stacks: ["dev", "prod"], files: prodFile });
    const shaA = world.sha;
    let shaB = "";
    const devA = await replayJob(world, job("main.yml", "deploy-dev"), run(shaA, refA, { duringUp: () => (shaB = mergeB()) }));
    expect(failures(devA)).toEqual([]);
    expect(shaB).not.toBe("");
    // A was the newest code when it deployed, so it records what it deployed, on top of B's merge.
    expect(devA.outputs.deployed).toBe("true");
    expect(recorded("dev")).toBe(refA);
    const devB = await replayJob(world, job("main.yml", "deploy-dev"), run(shaB, refB));
    expect(failures(devB)).toEqual([]);
    expect(devB.outputs.deployed).toBe("true");
    expect(world.deployed().dev).toBe(refB);
    expect(recorded("dev")).toBe(refB);
    // Production: B approved first, then A's older run is approved: A deploys nothing.
    const prodB = await replayJob(world, job("main.yml", "deploy-production"), afterDev(shaB, refB, devB));
    expect(failures(prodB)).toEqual([]);
    const prodA = await replayJob(world, job("main.yml", "deploy-production"), afterDev(shaA, refA, devA));
    expect(failures(prodA)).toEqual([]);
    expect(prodA.pulumiActions).toEqual([]);
    expect(prodA.steps.find((s) => s.label.includes("order"))!.stderr).toMatch(/main has 1 newer commit than [0-9a-f]{12} .*"B: a change merged right after A"\): the run of that commit deploys it/);
    expect(world.deployed()).toEqual({ dev: refB, prod: refB });
    expect(recorded("dev")).toBe(refB);
    expect(recorded("prod")).toBe(refB);
    // B's code is on main under the records, and no record was lost or conflicted.
    expect(originLog(world).slice(0, 4)).toEqual([`deploy: prod runs ${refB} [skip ci]`, `deploy: dev runs ${refB} [skip ci]`, `deploy: dev runs ${refA} [skip ci]`, "B: a change merged right after A"]);
  });

  it("B's build finishes first: B deploys dev, A's late deploy-dev stands down and asks for no production approval", async () => {
    world = await createWorld({ stacks: ["dev", "prod"], files: prodFile });
    const shaA = world.sha;
    const shaB = mergeB();
    const devB = await replayJob(world, job("main.yml", "deploy-dev"), run(shaB, refB));
    expect(failures(devB)).toEqual([]);
    const devA = await replayJob(world, job("main.yml", "deploy-dev"), run(shaA, refA));
    expect(failures(devA)).toEqual([]);
    expect(devA.outputs.deployed).toBe("false");
    expect(devA.pulumiActions).toEqual([]);
    const prodA = await replayJob(world, job("main.yml", "deploy-production"), afterDev(shaA, refA, devA));
    expect(prodA.skipped).toBe(true);
    const prodB = await replayJob(world, job("main.yml", "deploy-production"), afterDev(shaB, refB, devB));
    expect(failures(prodB)).toEqual([]);
    expect(world.deployed()).toEqual({ dev: refB, prod: refB });
    expect([recorded("dev"), recorded("prod")]).toEqual([refB, refB]);
  });

  it("registers the program's resource providers in the subscription before every up", async () => {
    world = await createWorld({ stacks: ["dev"] });
    const dev = await replayJob(world, job("main.yml", "deploy-dev"), run(world.sha, refA));
    expect(failures(dev)).toEqual([]);
    const registerAt = world.calls().findIndex((c) => c[0] === "az" && c[1] === "provider");
    expect(registerAt).toBeGreaterThanOrEqual(0);
    expect(world.registered()).toEqual([...RESOURCE_PROVIDERS]);
  });
});

describe("pull-request.yml: a preview stack per open pull request", { timeout: REPLAY_TIMEOUT }, () => {
  it("brings pr-<n> up with the PR's image from the preview registry and the shared preview application", async () => {
    world = await createWorld({ pullRequests: { 7: "open" } });
    const result = await replayJob(world, job("pull-request.yml", "preview-stack"), prEvent("synchronize"));
    expect(failures(result)).toEqual([]);
    expect(result.pulumiActions).toHaveLength(1);
    expect(result.pulumiActions[0]).toMatchObject({ command: "up", stack: "pr-7", with: { upsert: "true", "comment-on-pr": "true" } });
    const config = parse(result.pulumiActions[0]!.stackFile!).config;
    expect(config).toMatchObject({
      "secure-export:identityStack": "organization/secure-export/preview-identity",
      "secure-export:imageRegistryId": PREVIEW_ACR_ID,
      "secure-export:databaseMode": "embedded",
      "secure-export:protect": false,
    });
    expect(config["secure-export:image"]).toMatch(/^contosopreviews\.azurecr\.io\/secure-export-receiver@sha256:[0-9a-f]{64}$/);
    expect(world.stacks()).toEqual(["pr-7"]);
    expect(world.calls()).toContainEqual(["az", "acr", "login", "--name", "contosopreviews"]);
  });

  it("a bring-up that starts after its PR closed destroys the stack instead of recreating it", async () => {
    // Push, then close while the tests run: the teardown ran first, or this job replaced it in the group.
    world = await createWorld({ pullRequests: { 7: "closed" }, stacks: ["pr-7", "dev"] });
    const result = await replayJob(world, job("pull-request.yml", "preview-stack"), prEvent("synchronize"));
    expect(failures(result)).toEqual([]);
    expect(result.pulumiActions).toEqual([]);
    expect(world.stacks()).toEqual(["dev"]);
    expect(world.calls()).toContainEqual(["pulumi", "destroy", "--yes", "--non-interactive", "--remove", "--stack", "pr-7"]);
  });

  it("teardown removes the stack, and succeeds when the stack never existed", async () => {
    world = await createWorld({ pullRequests: { 7: "closed", 8: "closed" }, stacks: ["pr-7"] });
    const torn = await replayJob(world, job("pull-request.yml", "preview-stack-teardown"), prEvent("closed", 7));
    expect(failures(torn)).toEqual([]);
    expect(world.stacks()).toEqual([]);
    const never = await replayJob(world, job("pull-request.yml", "preview-stack-teardown"), prEvent("closed", 8));
    expect(failures(never)).toEqual([]);
    expect(never.steps.at(-1)!.stderr).toContain("pull request #8 is closed: pr-8 does not exist, nothing to do");
    expect(world.calls().filter((c) => c[1] === "destroy")).toHaveLength(1);
  });

  it("teardown fails loudly, destroying nothing, when GitHub cannot say whether the PR is closed", async () => {
    world = await createWorld({ pullRequests: { 7: "closed" }, stacks: ["pr-7"] });
    const unreachable = { ...world, apiUrl: "http://127.0.0.1:9" };
    const result = await replayJob(unreachable, job("pull-request.yml", "preview-stack-teardown"), prEvent("closed", 7));
    expect(result.ok).toBe(false);
    expect(failures(result).join("\n")).toMatch(/pipeline: GITHUB_API GET http:\/\/127\.0\.0\.1:9\/repos\/contoso\/secure-export\/pulls\/7 failed/);
    expect(world.stacks()).toEqual(["pr-7"]);
  });
});

describe("preview-sweep.yml", { timeout: REPLAY_TIMEOUT }, () => {
  it("destroys the preview stacks of closed (or unknown) pull requests and keeps open ones", async () => {
    world = await createWorld({ pullRequests: { 3: "closed", 4: "open" }, stacks: ["dev", "pr-3", "pr-4", "organization/secure-export/pr-5"] });
    const find = await replayJob(world, job("preview-sweep.yml", "find"), { eventName: "schedule", vars, secrets });
    expect(failures(find)).toEqual([]);
    expect(JSON.parse(find.outputs.prs!)).toEqual([3, 5]);
    for (const pr of JSON.parse(find.outputs.prs!) as number[]) {
      const removed = await replayJob(world, job("preview-sweep.yml", "remove"), { eventName: "schedule", vars, secrets, matrix: { pr }, needs: { find: { outputs: find.outputs, result: "success" } } });
      expect(failures(removed)).toEqual([]);
    }
    expect(world.stacks()).toEqual(["dev", "pr-4"]);
  });
});

describe("every job", { timeout: REPLAY_TIMEOUT }, () => {
  const ref = `contososhared.azurecr.io/secure-export-receiver@sha256:${"b".repeat(64)}`;
  /** Each job with an event it runs for. */
  const contexts: Record<string, JobContext> = {
    "main.yml#test": { vars, secrets },
    "main.yml#image": { vars, secrets },
    "main.yml#deploy-dev": { vars, secrets, needs: { image: { outputs: { ref }, result: "success" } } },
    "main.yml#deploy-production": { vars, secrets, needs: { image: { outputs: { ref }, result: "success" }, "deploy-dev": { outputs: { deployed: "true" }, result: "success" } } },
    "pull-request.yml#test": prEvent("opened"),
    "pull-request.yml#preview-stack": prEvent("opened"),
    "pull-request.yml#preview-stack-teardown": prEvent("closed"),
    "preview-sweep.yml#find": { eventName: "schedule", vars, secrets },
    "preview-sweep.yml#remove": { eventName: "schedule", vars, secrets, matrix: { pr: 8 }, needs: { find: { outputs: { prs: "[8]" }, result: "success" } } },
  };
  for (const workflow of workflows) {
    const file = workflow.file.split("/").at(-1)!;
    it(`${file}: every job runs green in a clean checkout, installing before it runs repository code`, async () => {
      world = await createWorld({ pullRequests: { 7: "open", 8: "closed" }, stacks: ["dev", "prod", "pr-8"], files: prodFile });
      for (const { id } of workflow.jobs) {
        const context = contexts[`${file}#${id}`];
        expect(context, `no replay context for ${file}#${id}`).toBeDefined();
        const before = world.calls().length;
        const result = await replayJob(world, job(file, id), context!);
        expect({ job: id, skipped: result.skipped, failures: failures(result) }).toEqual({ job: id, skipped: false, failures: [] });
        // node_modules appears only through the job's own `npm ci` (the clean checkout has none).
        const ranNode = result.steps.some((s) => s.outcome === "success" && /\bnode infra\//.test(s.label + s.stderr));
        if (ranNode) expect(world.calls().slice(before)).toContainEqual(expect.arrayContaining(["npm", "ci"]));
      }
    });
  }

  it("a pull request from a fork gets no preview stack (GitHub gives it no OIDC token or secrets)", async () => {
    world = await createWorld({ pullRequests: { 7: "open" } });
    const fork = prEvent("opened");
    const result = await replayJob(world, job("pull-request.yml", "preview-stack"), { ...fork, event: { ...fork.event, pull_request: { number: 7, head: { repo: { full_name: "someone/secure-export" } } } } });
    expect(result.skipped).toBe(true);
    expect(world.calls()).toEqual([]);
  });
});

describe("the workflows this replaced (main before issue 11)", { timeout: REPLAY_TIMEOUT }, () => {
  it("main.yml's image job stayed green while its tag came out empty: cli.ts ran without npm ci inside $(…)", async () => {
    const [old] = loadWorkflows(join(REPO_ROOT, "test/fixtures/workflows-before-issue-11"), REPO_ROOT).filter((w) => w.file.endsWith("main.yml"));
    world = await createWorld();
    const image = old!.jobs.find((j) => j.id === "image")!;
    const result = await replayJob(world, image, { vars, secrets });
    const tag = result.steps.find((s) => s.label.startsWith("6 tag"))!;
    expect(tag.outcome).toBe("success");
    expect(tag.stderr).toContain("ERR_MODULE_NOT_FOUND");
    expect(result.steps.find((s) => s.label.startsWith("8 ref"))!.stderr).toContain("ERR_MODULE_NOT_FOUND");
    expect(result.outputs.ref).toBe("");
  });
});
