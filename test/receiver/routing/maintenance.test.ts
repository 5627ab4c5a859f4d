/**
 * Maintenance windows: one-off and recurring, in IANA time zones, across DST transitions.
 *
 * The recurring cases are checked against an oracle written from the rule the schedule follows
 * (croner's documented DST handling, the Vixie cron rule for fixed-time jobs), not from croner:
 * an occurrence of "HH:MM on weekday W" starts at the first minute of that local date whose local
 * time is HH:MM or later. So on a spring-forward day a start inside the skipped hour moves to the
 * first minute after the gap, and on a fall-back day a repeated time starts only once, the first
 * time. Local time comes from Intl (the ICU time-zone data Node ships).
 * 2026 transitions: Europe/Berlin 29 Mar 02:00→03:00 and 25 Oct 03:00→02:00; America/New_York
 * 8 Mar 02:00→03:00 and 1 Nov 02:00→01:00, all at 01:00Z/07:00Z/01:00Z/06:00Z.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { explain } from "../../../receiver/src/routing/explain.ts";
import { maintenanceAt, parseDuration } from "../../../receiver/src/routing/maintenance.ts";
import { routingSubject } from "../../../receiver/src/routing/subject.ts";
import { alertOn, rulesFrom } from "./routing-support.ts";

const SUB = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e";
const VM = `/subscriptions/${SUB}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/vm1`;
const STORAGE = `/subscriptions/${SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/st1`;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function windowsFrom(maintenance: unknown[]) {
  return rulesFrom(JSON.stringify({ maintenance })).maintenance;
}

function at(windows: ReturnType<typeof windowsFrom>, iso: string, target = VM) {
  return maintenanceAt(windows, routingSubject(alertOn([target])), new Date(iso));
}

const formats = new Map<string, Intl.DateTimeFormat>();
/** The local calendar date, weekday (0 = Sunday) and minute of the day of an instant in a zone. */
function local(ms: number, timeZone: string) {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", weekday: "short" });
    formats.set(timeZone, format);
  }
  const p = Object.fromEntries(format.formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, weekday: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(p.weekday!), minutes: Number(p.hour) * 60 + Number(p.minute) };
}

interface Weekly {
  timeZone: string;
  weekday: number;
  hour: number;
  minute: number;
  durationMs: number;
}

/** Whether minute `m` is where an occurrence of the schedule starts (see the file comment). */
function startsAt(m: number, s: Weekly): boolean {
  const due = s.hour * 60 + s.minute;
  const here = local(m, s.timeZone);
  if (here.weekday !== s.weekday || here.minutes < due) return false;
  // Not if an earlier minute of the same local date was already at or past the time: the minute
  // before (an ordinary day), or an hour before (the repeated hour of a fall-back day).
  return [m - MINUTE, m - HOUR].every((earlier) => {
    const before = local(earlier, s.timeZone);
    return before.date !== here.date || before.minutes < due;
  });
}

/** The start of the occurrence covering `t`, by scanning the minutes that could start it. */
function oracleStart(t: number, s: Weekly): number | null {
  for (let m = Math.floor(t / MINUTE) * MINUTE; m > t - s.durationMs; m -= MINUTE) if (startsAt(m, s)) return m;
  return null;
}

describe("recurring windows across DST", () => {
  it("starts a time skipped by spring-forward at the first minute after the gap (Europe/Berlin)", () => {
    const windows = windowsFrom([{ name: "sunday-0230", cron: "30 2 * * 0", duration: "2h", timeZone: "Europe/Berlin" }]);
    // 29 Mar 2026: 02:30 does not exist; the window runs 03:00-05:00 CEST = 01:00Z-03:00Z.
    expect(at(windows, "2026-03-29T00:59:00Z").held).toBe(false);
    expect(at(windows, "2026-03-29T01:00:00Z")).toEqual({ held: true, window: "sunday-0230", windows: ["sunday-0230"], until: "2026-03-29T03:00:00.000Z" });
    expect(at(windows, "2026-03-29T03:00:00Z").held).toBe(false);
    // A week later: 02:30 CEST = 00:30Z.
    expect(at(windows, "2026-04-05T00:30:00Z").until).toBe("2026-04-05T02:30:00.000Z");
  });

  it("starts a time repeated by fall-back once, the first time (Europe/Berlin)", () => {
    const windows = windowsFrom([{ name: "sunday-0230", cron: "30 2 * * 0", duration: "45m", timeZone: "Europe/Berlin" }]);
    // 25 Oct 2026: 02:30 CEST (00:30Z) and 02:30 CET (01:30Z); only the first starts a window.
    expect(at(windows, "2026-10-25T00:30:00Z").until).toBe("2026-10-25T01:15:00.000Z");
    expect(at(windows, "2026-10-25T01:30:00Z").held).toBe(false);
  });

  it("keeps a weekly window on the same local hours in winter and summer, with elapsed-time durations (Europe/Berlin)", () => {
    const windows = windowsFrom([{ name: "patching", match: { resourceTypes: ["Microsoft.Compute/virtualMachines"] }, cron: "0 22 * * 6", duration: "4h", timeZone: "Europe/Berlin" }]);
    // Saturday 21 Mar 22:00 CET = 21:00Z, four hours.
    expect(at(windows, "2026-03-21T23:00:00Z").until).toBe("2026-03-22T01:00:00.000Z");
    // Saturday 28 Mar 22:00 CET = 21:00Z; the clocks jump at 02:00, and four real hours end 03:00 CEST.
    expect(at(windows, "2026-03-29T00:30:00Z").until).toBe("2026-03-29T01:00:00.000Z");
    // Saturday 4 Apr 22:00 CEST = 20:00Z.
    expect(at(windows, "2026-04-04T20:00:00Z").until).toBe("2026-04-05T00:00:00.000Z");
    expect(at(windows, "2026-04-04T19:59:59Z").held).toBe(false);
    // Only for the alerts it matches.
    expect(at(windows, "2026-04-04T21:00:00Z", STORAGE).held).toBe(false);
  });

  it("treats a list of hours as fixed times too, as Vixie cron does: a start in the gap still happens", () => {
    const windows = windowsFrom([{ name: "twice", cron: "30 1,2 * * 0", duration: "30m", timeZone: "Europe/Berlin" }]);
    // 29 Mar 2026: 01:30 CET (00:30Z) as usual; 02:30 does not exist and starts at 03:00 CEST
    // (01:00Z), right when the first ends, so the hold runs on to 01:30Z.
    expect(at(windows, "2026-03-29T01:10:00Z").until).toBe("2026-03-29T01:30:00.000Z");
    expect(at(windows, "2026-03-29T00:45:00Z").until).toBe("2026-03-29T01:30:00.000Z");
  });

  it("handles America/New_York's transitions the same way", () => {
    const windows = windowsFrom([
      { name: "gap", cron: "0 2 * * 0", duration: "1h", timeZone: "America/New_York" },
      { name: "repeat", cron: "30 1 * * 0", duration: "20m", timeZone: "America/New_York" },
    ]);
    // 8 Mar 2026: 02:00 does not exist; 03:00 EDT = 07:00Z.
    expect(at(windows, "2026-03-08T07:00:00Z")).toMatchObject({ held: true, window: "gap", until: "2026-03-08T08:00:00.000Z" });
    // 1 Nov 2026: 01:30 EDT (05:30Z) starts; 01:30 EST (06:30Z) does not.
    expect(at(windows, "2026-11-01T05:40:00Z")).toMatchObject({ held: true, window: "repeat", until: "2026-11-01T05:50:00.000Z" });
    expect(at(windows, "2026-11-01T06:40:00Z").held).toBe(false);
  });

  it("agrees with the DST oracle at any instant, near the transitions and through the year (property)", () => {
    const schedules: Weekly[] = [
      { timeZone: "Europe/Berlin", weekday: 0, hour: 2, minute: 30, durationMs: 3 * HOUR },
      { timeZone: "Europe/Berlin", weekday: 6, hour: 22, minute: 0, durationMs: 4 * HOUR },
      { timeZone: "America/New_York", weekday: 0, hour: 1, minute: 30, durationMs: 2 * HOUR },
      { timeZone: "America/New_York", weekday: 0, hour: 2, minute: 0, durationMs: 90 * MINUTE },
    ];
    const compiled = schedules.map((s, i) =>
      windowsFrom([{ name: `w${i}`, cron: `${s.minute} ${s.hour} * * ${s.weekday}`, duration: `${s.durationMs / MINUTE}m`, timeZone: s.timeZone }]),
    );
    const transitions = ["2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z", "2026-03-08T07:00:00Z", "2026-11-01T06:00:00Z"].map(Date.parse);
    const nearTransition = fc.tuple(fc.constantFrom(...transitions), fc.integer({ min: -3 * 24 * 60, max: 3 * 24 * 60 }), fc.integer({ min: 0, max: 59_999 })).map(([t, minutes, ms]) => t + minutes * MINUTE + ms);
    const inTheYear = fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2027-01-01T00:00:00Z") });
    fc.assert(
      fc.property(fc.nat({ max: schedules.length - 1 }), fc.oneof(nearTransition, inTheYear), (i, t) => {
        const schedule = schedules[i]!;
        const start = oracleStart(t, schedule);
        const state = maintenanceAt(compiled[i]!, routingSubject(alertOn([VM])), new Date(t));
        expect(state.held).toBe(start !== null);
        expect(state.until).toBe(start === null ? null : new Date(start + schedule.durationMs).toISOString());
      }),
      { numRuns: 400 },
    );
  });

  it("merges overlapping occurrences: the hold ends when the last one does", () => {
    // Fridays and Saturdays at 22:00 for 26 hours: Friday's runs into Saturday's.
    const windows = windowsFrom([{ name: "weekend", cron: "0 22 * * 5,6", duration: "26h", timeZone: "UTC" }]);
    expect(at(windows, "2026-05-08T23:00:00Z")).toMatchObject({ held: true, until: "2026-05-11T00:00:00.000Z" });
  });
});

describe("one-off windows", () => {
  const windows = windowsFrom([
    { name: "migration", from: "2026-05-16T20:00:00+02:00", to: "2026-05-17T06:00:00+02:00" },
    { name: "follow-up", match: { resourceTypes: ["Microsoft.Compute/*"] }, from: "2026-05-17T04:00:00Z", to: "2026-05-17T08:00:00Z" },
  ]);

  it("holds from `from` (inclusive) to `to` (exclusive), with their UTC offsets", () => {
    expect(at(windows, "2026-05-16T17:59:59.999Z", STORAGE).held).toBe(false);
    expect(at(windows, "2026-05-16T18:00:00Z", STORAGE)).toEqual({ held: true, window: "migration", windows: ["migration"], until: "2026-05-17T04:00:00.000Z" });
    expect(at(windows, "2026-05-17T04:00:00Z", STORAGE).held).toBe(false);
  });

  it("follows the hold into an adjoining window that matches the same alert", () => {
    expect(at(windows, "2026-05-17T03:00:00Z", VM)).toEqual({ held: true, window: "migration", windows: ["migration"], until: "2026-05-17T08:00:00.000Z" });
    expect(at(windows, "2026-05-17T05:00:00Z", VM)).toEqual({ held: true, window: "follow-up", windows: ["follow-up"], until: "2026-05-17T08:00:00.000Z" });
  });
});

describe("maintenance in explain", () => {
  it("names the window, its schedule, why it matched and when the hold ends", () => {
    const rules = rulesFrom(JSON.stringify({ maintenance: [{ name: "patching", match: { resourceGroups: ["rg-vms"] }, cron: "0 22 * * 6", duration: "4h", timeZone: "Europe/Berlin" }] }));
    const result = explain(rules, alertOn([VM]), new Date("2026-04-04T21:00:00Z"));
    expect(result.maintenance).toEqual({ held: true, window: "patching", windows: ["patching"], until: "2026-04-05T00:00:00.000Z" });
    expect(result.explanation).toContain(
      'maintenance: window "patching" (cron "0 22 * * 6" in Europe/Berlin, for 4h each) covers the alert at 2026-04-04T21:00:00.000Z (resource group rg-vms matches "rg-vms")',
    );
  });
});

describe("durations", () => {
  it.each([
    ["90m", 90 * MINUTE],
    ["4h", 4 * HOUR],
    ["1h30m", 90 * MINUTE],
    ["2d", 48 * HOUR],
    ["PT4H", 4 * HOUR],
    ["PT1H30M", 90 * MINUTE],
    ["P1DT12H", 36 * HOUR],
  ])("reads %s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "0h", "4 hours", "h", "P", "PT", "1.5h", "-1h", "4H30"])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});
