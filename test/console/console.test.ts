/**
 * The web console in a real browser (Debian's Chromium through playwright-core), against the
 * local stack with its ServiceNow and BMC Helix stand-ins: signing in with the authorization-code
 * flow on the local issuer, an alert sent with send-alert appearing by itself, resolving it,
 * replaying a dead letter, the message for users without a role, a phone's width, a keyboard.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LOCAL_USERS } from "../../receiver/local/local-identity.ts";
import type { LocalStack } from "../../receiver/local/start-local-stack.ts";
import { browserUnavailable, launchChromium } from "../support/browser.ts";
import { eventually } from "../support/eventually.ts";
import { writeAlert } from "../support/local-alerts.ts";
import { startLocalStackFixture, type LocalStackFixture } from "../support/local-stack-fixture.ts";
import { run } from "../support/processes.ts";

const unavailable = browserUnavailable();
if (unavailable) console.warn(`SKIPPED the web console's browser tests: ${unavailable}`);

// A browser, a receiver and three stand-ins share two cores with the rest of the suite.
vi.setConfig({ testTimeout: 120_000 });

/** The console refreshes every 5 s; a change must show within two refreshes. */
const LIVE = { timeout: 15_000 };
/** How long the page may take to react to a click or a sign-in on a busy machine (expect.poll's default is 1 s). */
const WAIT = { timeout: 15_000 };

describe.skipIf(unavailable)("the web console in Chromium", () => {
  let fixture: LocalStackFixture;
  let dir: string;
  let stack: LocalStack;
  let browser: Browser;
  let api: LocalStackFixture["api"];

  beforeAll(async () => {
    fixture = await startLocalStackFixture("console");
    ({ dir, stack, api } = fixture);
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
  });

  /** A fresh browser profile (no session), signed in as `name` on the local issuer's page. */
  async function signedIn(name: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${stack.receiver.url}/console/`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${stack.issuer.url}/**/oauth2/v2.0/authorize?**`);
    await page.getByRole("button", { name: new RegExp(name) }).click();
    await page.waitForURL(`${stack.receiver.url}/console/#/incidents`);
    // The authorization code never stays in the address bar.
    expect(page.url()).not.toContain("code=");
    await expect.poll(() => page.locator("#who").textContent(), WAIT).toContain(name);
    expect(errors).toEqual([]);
    return page;
  }

  async function sendAlert(options: Parameters<typeof writeAlert>[1] = {}) {
    const alert = await writeAlert(dir, options);
    const result = await run(["receiver/local/send-alert.ts", alert.file, "--receiver", stack.receiver.url, "--issuer", stack.issuer.url], { PATH: process.env.PATH });
    expect(result.stdout).toMatch(/^202 Accepted/);
    return { ...alert, incidentId: JSON.parse(result.stdout.split("\n")[1]!).incidentId as string };
  }

  it("an operator signs in, sees an alert sent with send-alert appear, opens it and resolves it", async () => {
    const page = await signedIn("Olivia Operator");
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent(), WAIT).toBe("Incidents");

    // Sent after the page loaded: live refresh must bring it in without a reload.
    const alert = await sendAlert();
    const link = page.getByRole("link", { name: alert.title });
    await link.waitFor(LIVE);
    await link.click();

    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent(), WAIT).toBe(alert.title);
    const cis = page.getByRole("table", { name: "Configuration items" });
    await expect.poll(() => cis.textContent(), WAIT).toContain(alert.payload.data.essentials.configurationItems[0]);
    // The ITSM deliveries show the tools' own ticket numbers once delivered.
    const deliveries = page.getByRole("table", { name: "ITSM deliveries" });
    await expect.poll(() => deliveries.textContent(), LIVE).toMatch(/default.*open.*delivered.*INC\d+/s);
    await expect.poll(() => deliveries.textContent(), LIVE).toMatch(/default-bmc-helix.*open.*delivered.*INC\d+/s);

    await page.getByLabel("Note (optional, sent to the ITSM tools)").fill("restarted the storage account");
    await page.getByRole("button", { name: "Resolve incident" }).click();
    await expect.poll(() => page.locator(".badges").textContent(), WAIT).toContain("resolved");
    // By name, not object id; and the ITSM steps with their ticket numbers.
    await expect.poll(() => page.locator("ol.timeline").textContent(), WAIT).toContain("resolved by Olivia Operator in secure-export: restarted the storage account");
    await expect.poll(() => page.locator("ol.timeline").textContent(), LIVE).toMatch(/ticket INC\d+ created in default/);
    expect(await page.locator("ol.timeline").textContent()).not.toContain(LOCAL_USERS[0]!.objectId);
    await expect.poll(() => page.getByRole("button", { name: "Resolve incident" }).count(), WAIT).toBe(0);
    // A resolved incident still takes a comment, which reaches the timeline (and the tickets).
    await page.getByLabel("Comment (sent to the ITSM tools)").fill("root cause: a full disk");
    await page.getByRole("button", { name: "Add comment" }).click();
    await expect.poll(() => page.locator("ol.timeline").textContent(), WAIT).toContain("root cause: a full disk");

    const stored = (await api.get(`/api/incidents/${alert.incidentId}`)).body;
    expect(stored.state).toBe("resolved");
    expect(stored.timeline.find((e: any) => e.type === "resolved")).toMatchObject({
      actor: LOCAL_USERS[0]!.name,
      detail: { resolution: "operator", actorId: LOCAL_USERS[0]!.objectId, note: "restarted the storage account" },
    });
    await page.context().close();
  });

  it("resolving an incident someone resolved meanwhile says so, instead of resolving it again", async () => {
    const alert = await sendAlert();
    const page = await signedIn("Olivia Operator");
    await page.goto(`${stack.receiver.url}/console/#/incidents/${alert.incidentId}`);
    await page.getByRole("button", { name: "Resolve incident" }).waitFor(WAIT);
    // Another operator (the CLI's tool identity) resolves it while this page still shows it open.
    expect((await api.post(`/api/incidents/${alert.incidentId}/resolve`, { note: "done elsewhere" })).status).toBe(200);
    await page.getByRole("button", { name: "Resolve incident" }).click();
    await expect.poll(() => page.getByRole("status").filter({ hasText: "This incident was already" }).textContent(), WAIT).toMatch(/^This incident was already resolved by .*: done elsewhere; nothing changed\.$/);
    await expect.poll(() => page.getByRole("button", { name: "Resolve incident" }).count(), WAIT).toBe(0);
    const stored = (await api.get(`/api/incidents/${alert.incidentId}`)).body;
    expect(stored.timeline.filter((e: any) => e.type === "resolved")).toHaveLength(1);
    await page.context().close();
  });

  it("an operator replays a dead letter from the dead-letters view", async () => {
    const page = await signedIn("Olivia Operator");
    // ServiceNow refuses the next request with a 400: a permanent error, dead-lettered at once.
    stack.itsm!.serviceNow.fail(1, 400);
    const alert = await sendAlert();
    const dead = await eventually(async () => (await api.get(`/api/deliveries?status=dead&incidentId=${alert.incidentId}`)).body.items[0], "a dead letter");

    await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Dead letters" }).click();
    const table = page.getByRole("table", { name: "Dead-lettered deliveries" });
    const row = table.locator(`tr[data-key="${dead.id}"]`);
    await row.waitFor(LIVE);
    expect(await row.textContent()).toMatch(/default.*open.*dead.*400/s);
    await row.getByRole("button", { name: "Replay" }).click();
    await expect.poll(() => page.locator(".notice.ok").textContent(), WAIT).toContain("Replayed");
    await expect.poll(async () => (await api.get(`/api/deliveries/${dead.id}`)).body.status, { timeout: 20_000 }).toBe("delivered");
    await expect.poll(() => row.count(), LIVE).toBe(0);
    await page.context().close();
  });

  it("an operator adds a silence on the Silences page, the alert it covers is held, and expiring it sends the alert", async () => {
    const page = await signedIn("Olivia Operator");
    await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Silences" }).click();
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent(), WAIT).toBe("Silences");
    const alert = await writeAlert(dir);
    const rule = alert.payload.data.essentials.alertRule as string;
    await page.getByLabel("Alert rules").fill(rule);
    await page.getByLabel("For (30m, 2h, 1d)").fill("2h");
    await page.getByLabel("Why").fill("storage migration");
    await page.getByRole("button", { name: "Add silence" }).click();
    await expect.poll(() => page.locator("form .notice.ok").textContent(), WAIT).toMatch(/Silence .* added/);
    const silences = page.getByRole("table", { name: "Silences" });
    await expect.poll(() => silences.textContent(), WAIT).toContain("storage migration");

    const sent = await run(["receiver/local/send-alert.ts", alert.file, "--receiver", stack.receiver.url, "--issuer", stack.issuer.url], { PATH: process.env.PATH });
    const incidentId = JSON.parse(sent.stdout.split("\n")[1]!).incidentId as string;
    const held = (await api.get(`/api/incidents/${incidentId}`)).body;
    expect(held.timeline.find((e: any) => e.type === "held").detail.silence).toEqual(expect.any(String));
    expect(held.deliveries).toEqual([]);

    await silences.getByRole("button", { name: "Expire now" }).first().click();
    await expect.poll(() => page.getByText(/held incidents? released/).textContent(), WAIT).toContain("1 held incident released");
    await expect.poll(async () => (await api.get(`/api/incidents/${incidentId}`)).body.deliveries.length, LIVE).toBeGreaterThan(0);
    await page.context().close();
  });

  it("the Status page shows each connector, and a ServiceNow refusing the credentials as unauthorized, live", async () => {
    const page = await signedIn("Riley Reader");
    await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Status" }).click();
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent(), WAIT).toBe("Status");
    const connectors = page.getByRole("table", { name: "Connectors" });
    await connectors.locator('tr[data-key="default"]').waitFor(WAIT);
    expect(await page.getByRole("table", { name: "Credential expiry" }).textContent()).toContain("unknown: set credentialExpiresAt");
    try {
      // ServiceNow answers 401 until told otherwise: the connector's state says so, not only a delivery's error.
      stack.itsm!.serviceNow.fail(10_000, 401);
      await sendAlert();
      const row = connectors.locator('tr[data-key="default"]');
      await expect.poll(() => row.textContent(), LIVE).toMatch(/unauthorized.*unauthorized \(401\): .*check the credentials/s);
      await expect.poll(() => page.getByRole("alert").textContent(), WAIT).toMatch(/Needs attention:.*connector default: unauthorized \(401\)/s);
    } finally {
      stack.itsm!.serviceNow.fail(0);
    }
    await page.context().close();
  });

  it("a user without the reader role sees what to ask for, not an error page", async () => {
    const page = await signedIn("Nico Newcomer");
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent(), WAIT).toBe("You don't have access yet");
    const text = await page.locator("main").textContent();
    expect(text).toContain("you do not hold the Incidents.Read role");
    expect(text).toContain("secure-export:readers");
    expect(text).toContain(LOCAL_USERS[2]!.objectId);
    await page.getByRole("button", { name: "Sign out" }).first().click();
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent(), WAIT).toBe("Sign in");
    await page.context().close();
  });

  it("when the session expires, live refresh turns into a sign-in prompt, not an error", async () => {
    const page = await signedIn("Riley Reader");
    await page.evaluate(`(() => {
      const session = JSON.parse(sessionStorage.getItem("secure-export.session"));
      sessionStorage.setItem("secure-export.session", JSON.stringify({ ...session, expiresAt: Date.now() - 1000 }));
    })()`);
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent(), LIVE).toBe("Sign in");
    expect(await page.getByRole("alert").textContent()).toContain("Your session ended");
    expect(await page.locator("#nav").isHidden()).toBe(true);
    await page.context().close();
  });

  it("a reader who tries to resolve is told which role that needs", async () => {
    const alert = await sendAlert();
    const page = await signedIn("Riley Reader");
    await page.goto(`${stack.receiver.url}/console/#/incidents/${alert.incidentId}`);
    await page.getByRole("button", { name: "Resolve incident" }).click();
    await expect.poll(() => page.getByRole("alert").textContent(), WAIT).toContain("This needs the Incidents.Operate role");
    expect((await api.get(`/api/incidents/${alert.incidentId}`)).body.state).toBe("open");
    await page.context().close();
  });

  it("filters incidents, and unbound CIs have their own view", async () => {
    const orphan = `orphan-${Date.now()}`;
    const sev0 = await sendAlert({ severity: "Sev0", unboundCi: orphan });
    const other = await sendAlert({ severity: "Sev3" });
    const page = await signedIn("Riley Reader");
    await page.getByRole("link", { name: other.title }).waitFor(LIVE);
    await page.getByLabel("Severity").selectOption("Sev0");
    await page.waitForURL(/severity=Sev0/);
    // Only the filtered list has nothing but Sev0 rows (the list before it had the Sev3 one; while loading there is none).
    await expect.poll(async () => [...new Set(await page.locator('td[data-label="Severity"]').allTextContents())], WAIT).toEqual(["Sev0"]);
    expect(await page.getByRole("link", { name: sev0.title }).count()).toBe(1);
    expect(await page.getByRole("link", { name: other.title }).count()).toBe(0);

    await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Unbound CIs" }).click();
    const table = page.getByRole("table", { name: "Unbound configuration items" });
    await expect.poll(() => table.textContent(), WAIT).toContain(orphan);
    expect(await table.textContent()).not.toContain(sev0.payload.data.essentials.configurationItems[0]);
    await page.context().close();
  });

  it("fits a phone's width: no sideways scrolling, each row a labelled card", async () => {
    const alert = await sendAlert();
    const page = await signedIn("Olivia Operator", { width: 390, height: 844 });
    await page.getByRole("link", { name: alert.title }).waitFor(LIVE);
    // Page scripts are strings: the project's TypeScript has no DOM library.
    const overflow = () => page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(await overflow()).toBeLessThanOrEqual(0);
    const label = `getComputedStyle(document.querySelector('tr[data-key="${alert.incidentId}"] td[data-label="Severity"]'), "::before").content`;
    expect(await page.evaluate<string>(label)).toBe('"Severity"');
    await page.getByRole("link", { name: alert.title }).click();
    await page.getByRole("table", { name: "ITSM deliveries" }).waitFor(LIVE);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.context().close();
  });

  it("works from the keyboard alone: sign in, open an incident, resolve it", async () => {
    const alert = await sendAlert();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${stack.receiver.url}/console/`);
    /** Presses Tab until `match` is focused (at most 60 times), as a keyboard user would. */
    const tabTo = async (match: (el: { tag: string; text: string }) => boolean) => {
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press("Tab");
        const focused = await page.evaluate<{ tag: string; text: string }>("({ tag: document.activeElement.tagName, text: document.activeElement.textContent.trim() })");
        if (match(focused)) return;
      }
      throw new Error("never reached by Tab");
    };
    await tabTo((el) => el.tag === "BUTTON" && el.text === "Sign in");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${stack.issuer.url}/**`);
    // The first account is focused on arrival, as on Entra's account picker.
    await expect.poll(() => page.evaluate<string>("document.activeElement.textContent"), WAIT).toContain("Olivia Operator");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${stack.receiver.url}/console/#/incidents`);
    await page.getByRole("link", { name: alert.title }).waitFor(LIVE);
    await tabTo((el) => el.tag === "A" && el.text === alert.title);
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent(), WAIT).toBe(alert.title);
    await tabTo((el) => el.tag === "TEXTAREA");
    await page.keyboard.type("handled from the keyboard");
    await tabTo((el) => el.tag === "BUTTON" && el.text === "Resolve incident");
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await api.get(`/api/incidents/${alert.incidentId}`)).body.state, WAIT).toBe("resolved");
    await context.close();
  });
});
