/** Image names the pipeline builds once and deploys everywhere by digest. Pure. */

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function imageTag(commitSha: string): string {
  if (!/^[0-9a-f]{7,40}$/.test(commitSha)) throw new Error(`not a git commit sha: "${commitSha}"`);
  return `sha-${commitSha.slice(0, 12)}`;
}

/** `registry/repository@sha256:…`: what stacks deploy, immutable unlike a tag. */
export function imageByDigest(registry: string, repository: string, digest: string): string {
  if (!DIGEST.test(digest)) throw new Error(`not an image digest: "${digest}"`);
  if (!/^[a-z0-9.-]+(:\d+)?$/.test(registry)) throw new Error(`not a registry host: "${registry}"`);
  if (!/^[a-z0-9]+([._/-][a-z0-9]+)*$/.test(repository)) throw new Error(`not a repository name: "${repository}"`);
  return `${registry}/${repository}@${digest}`;
}
