/** The logic behind the GitOps workflows, and the workflow linter CI runs. */
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { imageByDigest, imageTag } from "../../infra/pipeline/image-reference.ts";
import { previewStackName, seedPreviewConfig } from "../../infra/pipeline/preview-stack.ts";
import { parseStackConfig } from "../../infra/stack-config.ts";
import { REPO_ROOT, run } from "../support/processes.ts";

describe("preview stacks", () => {
  it("are named pr-<number>", () => {
    expect(previewStackName(42)).toBe("pr-42");
    expect(previewStackName("7")).toBe("pr-7");
    for (const bad of ["0", "-1", "4.2", "abc", ""]) expect(() => previewStackName(bad)).toThrow("pull request number must be a positive integer");
  });

  it("are seeded from the template stack with preview settings, leaving out secrets and the image", async () => {
    const template = `${await readFile(join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")}  secure-export:servicenowPassword:\n    secure: v1:abc\n  secure-export:image: registry/x@sha256:1\n`;
    const seeded = seedPreviewConfig(template, 1234);
    const config = (parse(seeded.yaml) as { config: Record<string, unknown> }).config;
    expect(config).toMatchObject({
      "azure-native:location": "westeurope",
      "secure-export:location": "westeurope",
      "secure-export:databaseMode": "embedded",
      "secure-export:minReplicas": 1,
      "secure-export:maxReplicas": 1,
      "secure-export:protect": false,
      "secure-export:exampleAlertRules": false,
      "secure-export:actionGroupShortName": "pr1234",
    });
    expect(config["secure-export:image"]).toBeUndefined();
    expect(config["secure-export:servicenowPassword"]).toBeUndefined();
    expect(seeded.droppedSecrets).toEqual(["secure-export:servicenowPassword"]);
    // What it writes is a valid preview configuration for the program.
    const raw = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith("secure-export:")).map(([k, v]) => [k.slice("secure-export:".length), String(v)]));
    expect(parseStackConfig("pr-1234", raw)).toMatchObject({ preview: true, databaseMode: "embedded", protect: false, maxReplicas: 1 });
  });

  it("keeps the short name within Azure's 12 characters for any PR number", () => {
    const config = (parse(seedPreviewConfig("config: {}\n", 9_999_999_999).yaml) as { config: Record<string, string> }).config;
    expect(config["secure-export:actionGroupShortName"]!.length).toBeLessThanOrEqual(12);
  });

  it("seed-preview writes the stack file once and never overwrites it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "secure-export-pipeline-"));
    try {
      await writeFile(join(dir, "Pulumi.dev.yaml"), "config:\n  secure-export:location: northeurope\n");
      const cli = join(REPO_ROOT, "infra/pipeline/cli.ts");
      const first = await run([cli, "seed-preview", "--pr", "5", "--template", "Pulumi.dev.yaml"], { PATH: process.env.PATH }, 30_000, dir);
      expect(first).toMatchObject({ code: 0, stdout: "pr-5\n" });
      expect(await readFile(join(dir, "Pulumi.pr-5.yaml"), "utf8")).toContain("secure-export:location: northeurope");
      await writeFile(join(dir, "Pulumi.pr-5.yaml"), "config: {}\nencryptionsalt: keep-me\n");
      await run([cli, "seed-preview", "--pr", "5"], { PATH: process.env.PATH }, 30_000, dir);
      expect(await readFile(join(dir, "Pulumi.pr-5.yaml"), "utf8")).toContain("keep-me");
      const bad = await run([cli, "stack-name", "--pr", "x"], { PATH: process.env.PATH }, 30_000, dir);
      expect(bad).toMatchObject({ code: 2, stderr: "pipeline: pull request number must be a positive integer, got \"x\"\n" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("image references", () => {
  const digest = `sha256:${"0123456789abcdef".repeat(4)}`;
  it("tag by commit and deploy by digest", () => {
    expect(imageTag("0123456789abcdef0123456789abcdef01234567")).toBe("sha-0123456789ab");
    expect(imageByDigest("contoso.azurecr.io", "secure-export-receiver", digest)).toBe(`contoso.azurecr.io/secure-export-receiver@${digest}`);
  });
  it.each([
    [() => imageTag("main"), "not a git commit sha"],
    [() => imageByDigest("contoso.azurecr.io", "secure-export-receiver", "latest"), "not an image digest"],
    [() => imageByDigest("https://contoso.azurecr.io", "r", digest), "not a registry host"],
    [() => imageByDigest("contoso.azurecr.io", "Receiver", digest), "not a repository name"],
  ])("refuse bad input (%#)", (call, message) => {
    expect(call).toThrow(message);
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
