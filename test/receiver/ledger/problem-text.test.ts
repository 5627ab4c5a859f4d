/**
 * What a storm makes every batch write, and what it need not. A problem's listed members, pending
 * update lines and description live apart from its counters (migration 013): a batch in which only
 * its counters change leaves the stored text alone instead of compressing and rewriting kilobytes
 * per problem, and a batch that changes a listed member or a pending line writes it. Either way,
 * what the read API shows is the problem as decided. A storm guard past its budget keeps its
 * counter as it is: batches that only add to the storm incident do not write it. And the intake
 * reads a problem's long text only when another transaction wrote it since this process last read
 * or wrote it (store/problem-texts.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acceptNotifications } from "../../../receiver/src/ledger/accept-notifications.ts";
import type { PreparedNotification } from "../../../receiver/src/ledger/prepare-notification.ts";
import type { Database } from "../../../receiver/src/store/database.ts";
import { getIncident, listIncidents } from "../../../receiver/src/store/ledger-queries.ts";
import { metricAlertNow, serviceNowRules } from "../../support/notifications.ts";
import { observingAnswers, recordingStatements, type SentStatement } from "../../support/statements.ts";
import { STORE_KINDS, type OpenStore } from "../../support/stores.ts";

const SUB = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
// groupWait 0s: the ticket opens with the first member, so every later change is a pending line.
const { rules, targets } = serviceNowRules([
  "noise:",
  "  - name: per-rule",
  "    match: { alertRules: [\"cpu-*\"] }",
  "    groupBy: [alertRule]",
  "    groupWait: 0s",
  "    groupInterval: 1h",
  "  - name: waiting",
  "    match: { alertRules: [\"slow-*\"] }",
  "    groupBy: [alertRule]",
  "    groupWait: 1h",
  "storm:",
  "  - name: outage",
  "    match: { alertRules: [\"outage-*\"] }",
  "    maxNewTickets: 1",
  "    per: 1h",
]);

let counter = 0;
function alertId(): string {
  counter += 1;
  return `/subscriptions/${SUB}/providers/Microsoft.AlertsManagement/alerts/text-${counter}-${Date.now()}`;
}

const arrival = (id: string, monitorCondition: "Fired" | "Resolved" = "Fired", alertRule = "cpu-text"): PreparedNotification => metricAlertNow(rules, id, alertRule, monitorCondition);

/** A group as the lock statements answer it (store/noise.ts): its long columns null when the version is held. */
interface LockedGroup {
  id: string;
  known: boolean;
  problem_lines: unknown;
}

interface WrittenProblem {
  id: string;
  description: string | null;
  problem_lines: unknown;
  keep_text: boolean;
  noise: Record<string, unknown>;
}

/** The changed problems among `statements`, as the ledger's write sends them. */
function writtenProblems(statements: readonly SentStatement[]): WrittenProblem[] {
  return statements
    .filter((s) => s.name === "ledger-write")
    .flatMap((s) => (JSON.parse(s.params[1] as string) as WrittenProblem[]).filter((r) => r.noise && "groupIntervalMs" in r.noise));
}

describe.each(STORE_KINDS)("a problem's text on the $name store", (kind) => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(() => store?.close());

  it("is written when a listed member or a pending line changes, and kept as stored when only the counts do", { timeout: 60_000 }, async () => {
    const { db, statements } = recordingStatements(store.db);
    const ids = Array.from({ length: 26 }, () => alertId());
    // One batch each: 20 listed members, 20 pending lines (members 2 to 21 joined after the ticket opened).
    for (const id of ids.slice(0, 22)) await acceptNotifications(db, [arrival(id)], targets);
    const [group] = await listIncidents(store.db, { kind: "group", limit: 10 });
    expect(group!.problem).toMatchObject({ members: 22, open: 22, sent: true, pendingMore: 1 });
    expect(group!.problem!.shown).toHaveLength(20);
    expect(group!.problem!.pending).toHaveLength(20);
    // Members 2 to 21 changed a list, and their batches wrote the text; the 22nd only counted. The counters never carry it.
    const written = writtenProblems(statements);
    expect(written.map((w) => w.keep_text)).toEqual([...Array<boolean>(20).fill(false), true]);
    expect(written.slice(0, 20).every((w) => w.problem_lines !== null && w.description !== null)).toBe(true);
    expect(written.every((w) => (w.noise.shown as unknown[]).length === 0 && (w.noise.pending as unknown[]).length === 0)).toBe(true);

    // Both lists full: joining members change the counts only, and the text is not sent again.
    let from = statements.length;
    await acceptNotifications(db, ids.slice(22, 26).map((id) => arrival(id)), targets);
    expect(writtenProblems(statements.slice(from))).toEqual([expect.objectContaining({ id: group!.id, keep_text: true, description: null, problem_lines: null })]);
    const kept = (await getIncident(store.db, group!.id))!;
    expect(kept.problem).toMatchObject({ members: 26, open: 26, pendingMore: 5 });
    expect(kept.problem!.shown).toEqual(group!.problem!.shown);
    expect(kept.problem!.pending).toEqual(group!.problem!.pending);
    expect(kept.description).toBe(group!.description);
    expect(kept.title).toBe("26 alerts grouped by per-rule: alertRule=cpu-text");

    // A listed member resolves: its line and the description change, and both are written.
    from = statements.length;
    await acceptNotifications(db, [arrival(ids[0]!, "Resolved")], targets);
    expect(writtenProblems(statements.slice(from))).toEqual([expect.objectContaining({ keep_text: false, description: expect.stringContaining("- resolved: ") })]);
    const changed = (await getIncident(store.db, group!.id))!;
    expect(changed.problem).toMatchObject({ members: 26, open: 25 });
    expect(changed.problem!.shown[0]).toMatchObject({ alertId: ids[0], state: "resolved" });
    expect(changed.problem!.shown.slice(1).every((m) => m.state === "open")).toBe(true);
    expect(changed.description).toMatch(/^- resolved: /m);
    expect(changed.description).toContain("Only the first 20 are listed");
  });

  it("is written when only its description changes: the 21st member of a group still gathering", { timeout: 60_000 }, async () => {
    const { db, statements } = recordingStatements(store.db);
    // Its ticket waits an hour: no pending lines, so after 20 listed members only the description can change.
    for (let n = 0; n < 22; n += 1) await acceptNotifications(db, [arrival(alertId(), "Fired", "slow-text")], targets);
    const written = writtenProblems(statements);
    expect(written.map((w) => w.keep_text)).toEqual([...Array<boolean>(20).fill(false), true]);
    expect(written[19]!.description).toContain("Only the first 20 are listed");
    const [group] = await listIncidents(store.db, { kind: "group", limit: 10 }).then((groups) => groups.filter((g) => g.alertRule === "slow-text"));
    expect(group!.problem).toMatchObject({ members: 22, sent: false, pending: [] });
    expect(group!.description).toContain("Only the first 20 are listed");
  });

  it("writes a storm guard's counter when a ticket or the storm incident changes it, not for each alert the storm takes", { timeout: 60_000 }, async () => {
    const { db, statements } = recordingStatements(store.db);
    const batch = async () => {
      const from = statements.length;
      await acceptNotifications(db, [arrival(alertId(), "Fired", `outage-${counter}`)], targets);
      return statements.slice(from).some((s) => s.name === "noise-write-counters");
    };
    // The first alert takes the budget's one ticket; the second opens the storm incident; later ones only join it.
    expect([await batch(), await batch(), await batch(), await batch()]).toEqual([true, true, false, false]);
    const [storm] = await listIncidents(store.db, { kind: "storm", limit: 10 });
    expect(storm!.problem).toMatchObject({ members: 3, open: 3 });
    const counters = await store.db.query<{ opened: unknown; incident_id: string }>("SELECT opened, incident_id::text AS incident_id FROM noise_storms WHERE storm = 'outage'");
    expect(counters.rows).toEqual([{ opened: [expect.any(String)], incident_id: storm!.id }]);
  });

  it("takes the lines a replica of the release before left inside the problem's state (a rolling upgrade), and moves them to their column", { timeout: 60_000 }, async () => {
    const ids = Array.from({ length: 23 }, () => alertId());
    for (const id of ids.slice(0, 22)) await acceptNotifications(store.db, [arrival(id, "Fired", "cpu-upgrade")], targets);
    const [group] = (await listIncidents(store.db, { kind: "group", limit: 10 })).filter((g) => g.alertRule === "cpu-upgrade");
    // What that release writes: the whole state in `noise`, its lines included, and its description with the counts; the column untouched.
    const theirs = { shown: group!.problem!.shown.map((m, n) => (n === 0 ? { ...m, state: "resolved" } : m)), pending: [...group!.problem!.pending.slice(1), "resolved: written by the release before"] };
    const description = group!.description!.replace(/^(Alerts of noise entry .*)$/m, "$1\n21 of 22 firing.");
    await store.db.query("UPDATE incidents SET noise = noise || $2::jsonb, description = $3 WHERE id = $1::uuid", [group!.id, JSON.stringify(theirs), description]);
    expect((await getIncident(store.db, group!.id))!.problem).toMatchObject(theirs);

    // The next batch keeps its lines, in their column now, with this release's description.
    await acceptNotifications(store.db, [arrival(ids[22]!, "Fired", "cpu-upgrade")], targets);
    expect((await getIncident(store.db, group!.id))!.problem).toMatchObject({ ...theirs, members: 23 });
    const row = await store.db.query<{ noise: { shown: unknown[]; pending: unknown[] }; lines: unknown }>("SELECT noise, problem_lines AS lines FROM incidents WHERE id = $1::uuid", [group!.id]);
    expect(row.rows[0]!.noise).toMatchObject({ shown: [], pending: [] });
    expect(row.rows[0]!.lines).toEqual(theirs);
    expect((await getIncident(store.db, group!.id))!.description).toMatch(/^- resolved: /m);
  });

  it("is read whole only when another transaction wrote it since: the intake's next batches take it from what it holds, and a replica's lines are kept", { timeout: 60_000 }, async () => {
    // The group locks as the database answered them: which rows came without their long columns.
    const answered: Array<{ id: string; known: boolean; lines: unknown }> = [];
    const watching = (db: Database) =>
      observingAnswers(db, (_tx, _sql, options, rows) => {
        if (options?.name?.startsWith("noise-lock-groups")) answered.push(...(rows as LockedGroup[]).map((r) => ({ id: r.id, known: r.known, lines: r.problem_lines })));
      });
    // Two replicas of the receiver on one database: each its own database handle, so each holds its own text.
    const first = watching(store.db);
    const second = watching({ ...store.db });
    const ids = Array.from({ length: 6 }, () => alertId());
    const listed = async () => {
      const [group] = (await listIncidents(store.db, { kind: "group", limit: 10 })).filter((g) => g.alertRule === "cpu-replicas");
      return { id: group!.id, shown: group!.problem!.shown.map((m) => m.alertId), pending: group!.problem!.pending.length };
    };

    for (const id of ids.slice(0, 3)) await acceptNotifications(first, [arrival(id, "Fired", "cpu-replicas")], targets);
    const group = await listed();
    // The second batch read the group the first created; the third took its text from what the second wrote.
    expect(answered.map((a) => [a.id, a.known, a.lines === null])).toEqual([
      [group.id, false, false],
      [group.id, true, true],
    ]);
    expect(group).toEqual({ id: group.id, shown: ids.slice(0, 3), pending: 2 });

    // The other replica adds a member (reading the group whole: it holds nothing of it), then this one adds two.
    await acceptNotifications(second, [arrival(ids[3]!, "Fired", "cpu-replicas")], targets);
    await acceptNotifications(first, [arrival(ids[4]!, "Fired", "cpu-replicas")], targets);
    await acceptNotifications(first, [arrival(ids[5]!, "Fired", "cpu-replicas")], targets);
    expect(answered.slice(2).map((a) => [a.known, a.lines === null])).toEqual([
      [false, false],
      [false, false],
      [true, true],
    ]);
    expect(await listed()).toEqual({ id: group.id, shown: ids, pending: 5 });
    const kept = (await getIncident(store.db, group.id))!;
    expect(kept.description).toContain(`${ids[3]!.split("/").at(-1)}`);
  });
});
