/** Image names the pipeline builds once and deploys everywhere by digest. Pure. */
import { PipelineError } from "./errors.ts";

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const REGISTRY_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+$/i;

export function imageTag(commitSha: string): string {
  if (!/^[0-9a-f]{7,40}$/.test(commitSha)) throw new PipelineError("BAD_ARGUMENT", `not a git commit sha: "${commitSha}"`);
  return `sha-${commitSha.slice(0, 12)}`;
}

/** `registry/repository@sha256:…`: what stacks deploy, immutable unlike a tag. */
export function imageByDigest(registry: string, repository: string, digest: string): string {
  if (!DIGEST.test(digest)) throw new PipelineError("BAD_ARGUMENT", `not an image digest: "${digest}"`);
  if (!/^[a-z0-9.-]+(:\d+)?$/.test(registry)) throw new PipelineError("BAD_ARGUMENT", `not a registry host: "${registry}"`);
  if (!/^[a-z0-9]+([._/-][a-z0-9]+)*$/.test(repository)) throw new PipelineError("BAD_ARGUMENT", `not a repository name: "${repository}"`);
  return `${registry}/${repository}@${digest}`;
}

/** Refuses anything but `registry/repository@sha256:…` (a tag can be moved under a running stack). */
export function checkImageByDigest(image: string): string {
  const at = image.lastIndexOf("@");
  const slash = image.indexOf("/");
  if (at < 0 || slash < 0 || slash > at) throw new PipelineError("BAD_ARGUMENT", `image must be registry/repository@sha256:<digest>, got "${image}"`);
  imageByDigest(image.slice(0, slash), image.slice(slash + 1, at), image.slice(at + 1));
  return image;
}

/** An Azure Container Registry's ARM id. */
export function checkRegistryId(id: string): string {
  if (!REGISTRY_ID.test(id)) {
    throw new PipelineError("BAD_ARGUMENT", `registry id must be /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>, got "${id}"`);
  }
  return id;
}
