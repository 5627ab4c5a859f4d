/**
 * What noise control would do with an alert now, beyond the rules (routing/noise.ts): the silences
 * in force that cover it, the open group it would join, and how much of each storm guard's budget
 * is spent — read from the ledger, nothing written. For POST /api/routing/explain.
 */
import type { NormalisedAlert } from "../alerts/normalise.ts";
import { stormAdmit } from "../incidents/noise.ts";
import type { RoutingExplanation } from "../routing/explain.ts";
import { compileMatcher, type MatchSpec } from "../routing/match.ts";
import { routingSubject } from "../routing/subject.ts";
import type { Queryable } from "../store/database.ts";
import { INCIDENT_COLUMNS, incidentFromRow, type IncidentRow } from "../store/incidents.ts";
import { activeSilences } from "../store/noise.ts";

export interface NoiseNow {
  silences: Array<{ id: string; until: string; comment: string }>;
  group: { id: string; members: number; open: number; ticketAt: string | null } | null;
  storms: Array<{ connector: string; recentTickets: number; admitted: boolean; stormIncidentId: string | null }>;
}

export async function explainNoiseNow(db: Queryable, routing: RoutingExplanation, alert: NormalisedAlert, at: Date): Promise<{ now: NoiseNow; explanation: string[] }> {
  const explanation: string[] = [];
  const subject = routingSubject(alert);
  const silences = (await activeSilences(db, at.toISOString())).filter((s) => compileMatcher(s.match as MatchSpec, ["match"], []).test(subject).matched);
  for (const s of silences) explanation.push(`noise: silence ${s.id} (${JSON.stringify(s.comment)}) holds a new incident until ${s.endsAt}; sent then if still open, never if resolved before`);
  const noise = routing.noise;
  let group: NoiseNow["group"] = null;
  if (noise?.groupId) {
    const { rows } = await db.query<IncidentRow>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE group_key = $1 AND state = 'open' AND kind = 'group'`, [noise.groupId]);
    const open = rows[0] ? incidentFromRow(rows[0]) : null;
    if (open?.problem) {
      group = { id: open.id, members: open.problem.members, open: open.problem.open, ticketAt: open.problem.sent ? null : open.problem.waitUntil };
      explanation.push(`noise: joins open group ${open.id} (${open.problem.members} alerts, ${open.problem.open} firing); ${open.problem.sent ? "its ticket is open and gets this change in its next update" : `its ticket opens at ${open.problem.waitUntil}`}`);
    } else if (noise.groupKey !== null) {
      explanation.push(`noise: opens a new group for ${noise.groupKey}; its ticket opens ${Math.round(noise.groupWaitMs / 1000)} s later`);
    }
  }
  const storms: NoiseNow["storms"] = [];
  if (noise?.storm) {
    const storm = noise.storm;
    const { rows } = await db.query<{ connector: string; opened: unknown; incident_id: string | null; open: boolean | null }>(
      `SELECT s.connector, s.opened, s.incident_id::text AS incident_id, i.state = 'open' AS open
       FROM noise_storms s LEFT JOIN incidents i ON i.id = s.incident_id WHERE s.storm = $1 AND s.connector = ANY($2::text[])`,
      [storm.name, routing.connectors],
    );
    for (const connector of routing.connectors) {
      const row = rows.find((r) => r.connector === connector);
      const opened = (row ? (typeof row.opened === "string" ? JSON.parse(row.opened) : row.opened) : []) as string[];
      const outcome = stormAdmit({ opened, incidentId: row?.incident_id ?? null }, storm, at.toISOString());
      const recent = outcome.admitted ? outcome.counter.opened.length - 1 : outcome.counter.opened.length;
      const stormIncidentId = row?.open ? row.incident_id : null;
      storms.push({ connector, recentTickets: recent, admitted: outcome.admitted, stormIncidentId });
      explanation.push(
        outcome.admitted
          ? `noise: storm guard "${storm.name}" on ${connector}: ${recent} of ${storm.maxNewTickets} new tickets used in the last ${Math.round(storm.perMs / 60_000)} min: a new ticket is allowed`
          : `noise: storm guard "${storm.name}" on ${connector}: ${storm.maxNewTickets} new tickets in the last ${Math.round(storm.perMs / 60_000)} min: a new incident joins ${stormIncidentId ? `storm incident ${stormIncidentId}` : "a new storm incident"}`,
      );
    }
  }
  return { now: { silences: silences.map((s) => ({ id: s.id, until: s.endsAt, comment: s.comment })), group, storms }, explanation };
}
