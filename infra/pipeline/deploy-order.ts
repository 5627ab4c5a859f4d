/**
 * Which commit of `main` a deploy job may put on a stack: only the newest. Pure.
 *
 * GitHub runs the jobs of one concurrency group one at a time, but not in commit order ("at most
 * one running and one pending job … any existing pending job … will be canceled": workflow syntax,
 * `concurrency`), and a production approval can come for an older run after a newer one. So every
 * deploy job asks, inside its group and right before `pulumi up`, whether `main` has moved past its
 * commit with anything but deploy records. If it has, a newer run exists that deploys (or has
 * deployed) that newer code, and this job stands down instead of rolling the stack back.
 *
 * A deploy record is what `record-image` commits: only `secure-export:image` /
 * `secure-export:imageRegistryId` of a `Pulumi.<stack>.yaml` changed. Records do not make a run
 * stale: they carry no code, and they are how the runs before this one said what they deployed.
 */
import { parse } from "yaml";

export const RECORD_KEYS = ["secure-export:image", "secure-export:imageRegistryId"] as const;

export interface ChangedFile {
  path: string;
  /** The file's text in the commit's first parent, undefined when it did not exist. */
  before: string | undefined;
  /** Its text in the commit, undefined when the commit deleted it. */
  after: string | undefined;
}

export interface CommitChange {
  sha: string;
  subject: string;
  files: ChangedFile[];
}

export interface DeployOrder {
  /** True when this run's commit may be deployed: nothing but deploy records came after it. */
  newest: boolean;
  reason: string;
}

/** The stack file's config without the keys a deploy records, for comparison; undefined when unreadable. */
function configWithoutRecord(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch {
    return undefined;
  }
  const config = { ...(((parsed ?? {}) as { config?: Record<string, unknown> }).config ?? {}) };
  for (const key of RECORD_KEYS) delete config[key];
  return JSON.stringify(config, Object.keys(config).sort());
}

/** Whether a commit only records what a stack runs (the image keys of existing stack files). */
export function isDeployRecord(change: CommitChange): boolean {
  return (
    change.files.length > 0 &&
    change.files.every((file) => {
      if (!/^Pulumi\.[^/]+\.yaml$/.test(file.path) || file.before === undefined || file.after === undefined) return false;
      const [before, after] = [configWithoutRecord(file.before), configWithoutRecord(file.after)];
      return before !== undefined && before === after;
    })
  );
}

/**
 * `onMain`: whether the run's commit is on main at all (a force-push can remove it).
 * `later`: the commits main has after the run's commit, oldest first.
 */
export function deployOrder(runSha: string, onMain: boolean, later: readonly CommitChange[]): DeployOrder {
  const short = runSha.slice(0, 12);
  if (!onMain) return { newest: false, reason: `${short} is no longer on main (was main rewritten?): nothing from this run is deployed` };
  const newer = later.filter((change) => !isDeployRecord(change));
  if (newer.length > 0) {
    const latest = newer.at(-1)!;
    return {
      newest: false,
      reason: `main has ${newer.length} newer commit${newer.length > 1 ? "s" : ""} than ${short} (latest ${latest.sha.slice(0, 12)} "${latest.subject}"): the run of that commit deploys it; this run deploys nothing`,
    };
  }
  const records = later.length;
  return { newest: true, reason: `${short} is the newest code on main${records ? ` (followed only by ${records} deploy record${records > 1 ? "s" : ""})` : ""}: deploying it` };
}
