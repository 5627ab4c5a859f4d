/**
 * Records the image a stack runs in its committed `Pulumi.<stack>.yaml`, so the next deploy, a
 * preview and a local `pulumi up` all read the same value from git. Pure: text in, text out. Edits
 * through the yaml library's document model so the file's comments, key order and
 * `encryptionsalt` survive; only the two image keys change.
 */
import { parseDocument } from "yaml";
import { PipelineError } from "./errors.ts";
import { checkImageByDigest, checkRegistryId } from "./image-reference.ts";

export interface RecordedImage {
  yaml: string;
  /** False when the file already named this image and registry. */
  changed: boolean;
}

export function recordImage(stackYaml: string, image: string, registryId: string): RecordedImage {
  checkImageByDigest(image);
  checkRegistryId(registryId);
  const doc = parseDocument(stackYaml);
  if (doc.errors.length > 0) throw new PipelineError("BAD_ARGUMENT", `stack file is not valid YAML: ${doc.errors[0]!.message}`);
  if (!doc.has("config")) doc.set("config", doc.createNode({}));
  const before = [doc.getIn(["config", "secure-export:image"]), doc.getIn(["config", "secure-export:imageRegistryId"])];
  doc.setIn(["config", "secure-export:image"], image);
  doc.setIn(["config", "secure-export:imageRegistryId"], registryId);
  return { yaml: doc.toString(), changed: before[0] !== image || before[1] !== registryId };
}
