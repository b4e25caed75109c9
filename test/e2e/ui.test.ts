// The web UI in headless Chromium against a real Endure process and real services: an operator
// finds an invocation, reads its journal timeline, follows a call to the invocation it created,
// spots a failing invocation and why, cancels invocations (one, and several at once), edits an
// object's state, queries SQL, and pastes a token when the admin API asks for one. Screenshots
// of each step are saved under test-artifacts/ui/.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPO_ROOT,
  call,
  eventually,
  killAllStarted,
  register,
  startEndure,
  startServices,
  type EndureProcess,
  type ServicesProcess,
} from "../harness/index.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts", "ui");
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`web UI tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

let endure: EndureProcess;
let services: ServicesProcess;
let browser: BrowserContext;
let profileDir: string;
let page: Page;
const ids = { order: "", sleeperA: "", sleeperB: "", sleeperC: "", flaky: "" };

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${endure.adminUrl}/query`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ query: sql }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
}

async function statusOf(id: string): Promise<string | undefined> {
  return (await query(`select status from sys_invocation where id = '${id}'`))[0]?.status as string | undefined;
}

/** Polls longer than the UI's refresh period, so a view has time to load again. */
function poll<T>(probe: () => Promise<T>, opts: { timeout?: number } = {}) {
  return expect.poll(probe, { timeout: opts.timeout ?? 10_000, interval: 100 });
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A fresh browser profile in Chromium as CI runs it. */
async function launch(): Promise<{ context: BrowserContext; dir: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "endure-ui-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return { context, dir };
}

const send = async (p: string, body: unknown) =>
  ((await call(endure.ingressUrl, p, body)).json as { invocationId: string }).invocationId;

describe.skipIf(!hasChromium)("the web UI", () => {
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    services = await startServices("test/services/ui.ts");
    endure = await startEndure();
    await register(endure.adminUrl, services.url);
    ids.order = await send("/Orders/place/send", "o-7");
    expect((await call(endure.ingressUrl, "/Counter/alice/add", 5)).text).toBe("5");
    ids.sleeperA = await send("/Sleeper/nap/send", 3600);
    ids.sleeperB = await send("/Sleeper/nap/send", 3600);
    ids.sleeperC = await send("/Sleeper/nap/send", 3600);
    ids.flaky = await send("/Flaky/fail/send", undefined);
    await send("/Approval/doc-1/run/send", "doc-1");
    await eventually(async () => ((await query("select id from sys_journal where entry_type = 'Sleep'")).length >= 4 ? true : undefined));
    await eventually(async () => ((await query(`select id from sys_journal where id = '${ids.order}' and name = 'request approval'`)).length === 1 ? true : undefined));
    await eventually(async () => {
      const r = (await query(`select retry_count from sys_invocation where id = '${ids.flaky}'`))[0];
      return r !== undefined && Number(r.retry_count) >= 1 ? true : undefined;
    });
    ({ context: browser, dir: profileDir } = await launch());
    page = await browser.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (profileDir !== undefined) await rm(profileDir, { recursive: true, force: true });
    await endure?.stop();
    await services?.stop();
    await killAllStarted();
  });

  it("the overview shows services, deployments with their SDK and endpoint, counts by status and recent failures", async () => {
    await page.goto(`${endure.adminUrl}/ui`);
    await poll(() => page.locator("h1").first().textContent()).toBe("Overview");
    const text = () => page.locator("main").innerText();
    await poll(text).toContain("Invocations by status");
    const main = await text();
    for (const s of ["Orders", "Counter", "Approval", "Sleeper", "Flaky"]) expect(main).toContain(s);
    expect(main).toContain(services.url);
    const deployment = ((await (await fetch(`${endure.adminUrl}/deployments`)).json()) as { deployments: { sdk_version?: string }[] }).deployments[0];
    expect(main).toContain(deployment?.sdk_version ?? "unknown");
    expect(main).toContain("database unreachable");
    expect(main).toContain(ids.flaky);
    await shot("01-overview");
  });

  it("a failing invocation is two clicks from the overview, with its retries and last failure", async () => {
    await page.locator(`a:has-text("${ids.flaky}")`).first().click();
    await poll(() => page.locator(".summary").innerText()).toContain("database unreachable");
    const summary = await page.locator(".summary").innerText();
    expect(summary).toMatch(/Retries\s+[1-9]/);
    expect(summary).toContain("Flaky/fail");
    // The timeline ends with the failed attempt, its retries and when the next one starts.
    const attempt = await page.locator('li.entry[data-type="attempt"]').innerText();
    expect(attempt).toMatch(/Last attempt failed\s+\d+ retr/);
    expect(attempt).toContain("database unreachable");
    await shot("02-failing-invocation");
  });

  it("finds an invocation by filters and reads its journal as a timeline", async () => {
    await page.locator("header nav a", { hasText: "Invocations" }).click();
    await page.locator('input[name="service"]').fill("Orders");
    await page.locator('input[name="handler"]').fill("place");
    // A refresh of the list (every 2 s) leaves what is being typed alone.
    await page.waitForTimeout(2_500);
    expect(await page.locator('input[name="service"]').inputValue()).toBe("Orders");
    await page.getByRole("button", { name: "Filter" }).click();
    await poll(async () => page.url()).toContain("service=Orders");
    await poll(() => page.locator("table.invocations tbody tr").count()).toBe(1);
    expect(page.url()).toContain("service=Orders");
    await shot("03-invocations-filtered");
    await page.locator(`a:has-text("${ids.order}")`).click();
    const timeline = page.locator("ol.timeline");
    const entry = (type: string) => timeline.locator(`li.entry[data-type="${type}"]`);
    await poll(() => entry("Run").count()).toBe(2);
    expect(await entry("Run").first().innerText()).toContain("reserve");
    expect(await entry("Run").first().innerText()).toContain('"reserved o-7"');
    expect(await entry("Sleep").first().innerText()).toMatch(/wakes up at/);
    expect(await entry("Call").innerText()).toContain("Stock/take");
    expect(await entry("Call").innerText()).toContain('"took o-7"');
    expect(await entry("OneWayCall").innerText()).toContain("Audit/record");

    // The awakeable's id is the result of the "request approval" step; resolving it shows up
    // in the timeline as the awakeable's signal, and the order moves on to its last sleep.
    const approval = await entry("Run").nth(1).innerText();
    const awakeable = /sign_[A-Za-z0-9_-]+/.exec(approval)?.[0];
    expect(awakeable, approval).toBeDefined();
    expect((await call(endure.ingressUrl, `/restate/awakeables/${awakeable}/resolve`, "approved")).status).toBe(202);
    await poll(() => entry("SignalNotification").innerText(), { timeout: 15_000 }).toContain('"approved"');
    expect(await entry("SignalNotification").innerText()).toContain("awakeable");
    await poll(() => entry("Run").count(), { timeout: 15_000 }).toBe(3);
    expect(await entry("Run").nth(2).innerText()).toContain('{"order":"o-7","amount":42}');
    await poll(() => entry("Sleep").count(), { timeout: 15_000 }).toBe(2);
    expect(await entry("Sleep").nth(1).innerText()).toMatch(/\(in 59 min/);
    await shot("04-invocation-timeline");
    // Notifications that only complete a command are folded into it, and shown on request.
    expect(await entry("RunCompletionNotification").count()).toBe(0);
    await page.getByRole("checkbox", { name: /notifications that completed commands/ }).check();
    await poll(() => entry("RunCompletionNotification").count()).toBe(3);
    expect(await entry("CallInvocationIdCompletionNotification").count()).toBe(2);

    // The call links to the invocation it created; both it and the send are listed as children.
    const child = (await query(`select id from sys_invocation where target = 'Stock/take'`))[0]!.id as string;
    await entry("Call").locator(`a:has-text("${child}")`).click();
    await poll(() => page.locator("h1").textContent()).toBe(child);
    await poll(() => page.locator(".summary").innerText()).toContain("success");
    await page.goBack();
    await poll(() => page.locator("ul.children").innerText()).toContain(child);
    expect(await page.locator("ul.children").innerText()).toContain("Audit/record");
  });

  it("pages through a long list and filters by creation time", async () => {
    const before = new Date();
    await Promise.all(Array.from({ length: 55 }, (_, i) => call(endure.ingressUrl, "/Stock/take", `item-${i}`)));
    await page.goto(`${endure.adminUrl}/ui#/invocations?service=Stock`);
    await poll(() => page.locator(".pager").innerText()).toContain("page 1 of 2 · 56 invocations");
    expect(await page.locator("table.invocations tbody tr").count()).toBe(50);
    await page.getByRole("button", { name: "Next" }).click();
    await poll(() => page.locator(".pager").innerText()).toContain("page 2 of 2");
    expect(await page.locator("table.invocations tbody tr").count()).toBe(6);
    // The time range is typed in the browser's time zone (the page runs in the test's).
    const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.locator('input[name="from"]').fill(local(new Date(before.getTime() + 3_600_000)));
    await page.getByRole("button", { name: "Filter" }).click();
    await poll(() => page.locator("table.invocations tbody").innerText()).toContain("No invocations match.");
    await page.locator('input[name="from"]').fill(local(new Date(before.getTime() - 3_600_000)));
    await page.getByRole("button", { name: "Filter" }).click();
    await poll(() => page.locator(".pager").innerText()).toContain("56 invocations");
  });

  it("cancels one invocation after a confirmation, and changes nothing when the dialog is dismissed", async () => {
    await page.goto(`${endure.adminUrl}/ui#/invocation/${ids.sleeperA}`);
    await poll(() => page.locator("li.entry[data-type='Sleep']").count()).toBe(1);
    await page.locator(".actions button", { hasText: "cancel" }).click();
    await poll(() => page.locator(".dialog").innerText()).toContain(ids.sleeperA);
    await shot("05-cancel-confirmation");
    await page.getByRole("button", { name: "Back" }).click();
    expect(await page.locator(".dialog").count()).toBe(0);
    expect(await statusOf(ids.sleeperA)).not.toBe("completed");

    await page.locator(".actions button", { hasText: "cancel" }).click();
    await page.locator(".dialog button.danger").click();
    await eventually(async () => ((await statusOf(ids.sleeperA)) === "completed" ? true : undefined));
    await poll(() => page.locator(".summary").innerText()).toMatch(/cancel/i);
    await shot("06-cancelled");
  });

  it("cancels several invocations at once from the list", async () => {
    await page.goto(`${endure.adminUrl}/ui#/invocations?service=Sleeper`);
    await poll(() => page.locator("table.invocations tbody tr").count()).toBe(3);
    await page.getByRole("checkbox", { name: `select ${ids.sleeperB}` }).check();
    await page.getByRole("checkbox", { name: `select ${ids.sleeperC}` }).check();
    expect(await page.locator(".bulk").innerText()).toContain("2 selected");
    await page.locator(".bulk button", { hasText: "cancel" }).click();
    const dialog = await page.locator(".dialog").innerText();
    expect(dialog).toContain(ids.sleeperB);
    expect(dialog).toContain(ids.sleeperC);
    await page.locator(".dialog button.danger").click();
    await poll(() => page.locator(".notice").innerText()).toContain("cancel: done for 2");
    await eventually(async () =>
      (await statusOf(ids.sleeperB)) === "completed" && (await statusOf(ids.sleeperC)) === "completed" ? true : undefined,
    );
    await shot("07-bulk-cancelled");
  });

  it("edits an object's state after a confirmation, and the handler sees the new value", async () => {
    await page.goto(`${endure.adminUrl}/ui#/`);
    await page.locator("main table tr", { hasText: "Counter" }).getByRole("link", { name: "keys" }).click();
    await page.locator("ul.keys a", { hasText: "alice" }).click();
    await poll(() => page.locator("table.state").innerText()).toContain("count");
    expect(await page.locator("table.state").innerText()).toContain("5");
    await page.getByRole("button", { name: "Edit state" }).click();
    await page.getByRole("textbox", { name: "value of count" }).fill("41");
    await page.getByRole("button", { name: "Save…" }).click();
    expect(await page.locator(".dialog").innerText()).toContain("count = 41");
    await shot("08-state-confirmation");
    await page.locator(".dialog button.danger").click();
    await poll(() => page.locator("table.state").innerText()).toContain("41");
    await shot("09-state-edited");
    expect((await call(endure.ingressUrl, "/Counter/alice/add", 1)).text).toBe("42");
  });

  it("refuses a state edit when the state changed since the editor opened, and shows why", async () => {
    await poll(() => page.locator("table.state").innerText()).toContain("42");
    await page.getByRole("button", { name: "Edit state" }).click();
    await page.getByRole("textbox", { name: "value of count" }).fill("7");
    expect((await call(endure.ingressUrl, "/Counter/alice/add", 1)).text).toBe("43");
    await page.getByRole("button", { name: "Save…" }).click();
    await page.locator(".dialog button.danger").click();
    await poll(() => page.locator(".dialog .error").innerText()).toContain("409");
    await shot("10-state-conflict");
    await page.getByRole("button", { name: "Back" }).click();
    await page.getByRole("button", { name: "Discard" }).click();
    await poll(() => page.locator("table.state").innerText()).toContain("43");
    expect((await query("select value_utf8 from state where service_name = 'Counter' and service_key = 'alice'"))[0]?.value_utf8).toBe("43");
  });

  it("shows a workflow's durable promise and the lock holder", async () => {
    await page.goto(`${endure.adminUrl}/ui#/object/Approval/doc-1`);
    await poll(() => page.locator("main").innerText()).toContain("Lock holder");
    const holder = (await query("select invocation_id from sys_keyed_service_status where service_name = 'Approval'"))[0]?.invocation_id;
    expect(holder).toBeDefined();
    await poll(() => page.locator("main").innerText()).toContain(String(holder));
    await poll(() => page.locator("main table").innerText()).toMatch(/verdict\s+pending/);
    await shot("11-workflow");
  });

  it("shows which invocation holds an object's key and the calls waiting in its inbox", async () => {
    const holder = await send("/Counter/bob/hold/send", undefined);
    const queued = await send("/Counter/bob/add/send", 2);
    await page.goto(`${endure.adminUrl}/ui#/object/Counter/bob`);
    await poll(() => page.locator("main").innerText()).toContain(holder);
    await poll(() => page.locator("main ol.children").innerText()).toContain(queued);
    expect(await page.locator("main ol.children").innerText()).toContain("Counter/bob/add");
    await shot("11-object-inbox");
  });

  it("pauses and resumes a retrying invocation, and restarts a completed one as new", async () => {
    await page.goto(`${endure.adminUrl}/ui#/invocation/${ids.flaky}`);
    await poll(() => page.locator(".summary").innerText()).toContain("Flaky/fail");
    await page.locator(".actions button", { hasText: "pause" }).click();
    await page.locator(".dialog button.danger").click();
    await eventually(async () => ((await statusOf(ids.flaky)) === "paused" ? true : undefined));
    await poll(() => page.locator(".summary").innerText()).toContain("paused");
    await page.locator(".actions button", { hasText: "resume" }).click();
    await page.locator(".dialog button.danger").click();
    await eventually(async () => ((await statusOf(ids.flaky)) !== "paused" ? true : undefined));

    const stock = (await query("select id from sys_invocation where target = 'Stock/take' order by created_at limit 1"))[0]!.id as string;
    await page.goto(`${endure.adminUrl}/ui#/invocation/${stock}`);
    await poll(() => page.locator(".summary").innerText()).toContain("success");
    await page.locator(".actions button", { hasText: "restart-as-new" }).click();
    await page.locator(".dialog button.danger").click();
    await poll(() => page.locator("h1").textContent()).not.toBe(stock);
    const fresh = (await page.locator("h1").textContent()) ?? "";
    expect(fresh).toMatch(/^inv_/);
    await poll(() => page.locator(".summary").innerText()).toContain("Stock/take");
    await eventually(async () => ((await statusOf(fresh)) === "completed" ? true : undefined));
  });

  it("runs SQL in the console and shows the server's error for a bad query", async () => {
    await page.goto(`${endure.adminUrl}/ui#/sql`);
    await page.getByRole("textbox", { name: "SQL query" }).fill("select target, status from sys_invocation where target = 'Orders/place'");
    await page.getByRole("button", { name: "Run" }).click();
    await poll(() => page.locator("table.sql-result").innerText()).toContain("Orders/place");
    await page.getByRole("textbox", { name: "SQL query" }).fill("select * from nope");
    await page.getByRole("button", { name: "Run" }).click();
    await poll(() => page.locator(".error").innerText()).toContain("400");
    expect(await page.locator(".error").innerText()).toContain("no such table: nope");
    await shot("12-sql-error");
  });

  it("fits a narrow window without sideways scrolling", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const view of [`#/invocation/${ids.order}`, "#/invocations", "#/"]) {
      await page.goto(`${endure.adminUrl}/ui${view}`);
      await poll(() => page.locator("main h1").count()).toBe(1);
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, view).toBeLessThanOrEqual(0);
    }
    await page.goto(`${endure.adminUrl}/ui#/invocation/${ids.order}`);
    await poll(() => page.locator("li.entry").count()).toBeGreaterThan(5);
    await shot("13-narrow-timeline");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("says so when the server cannot be reached, and keeps showing what it last read", async () => {
    await page.goto(`${endure.adminUrl}/ui#/`);
    await poll(() => page.locator("main").innerText()).toContain("Invocations by status");
    await endure.kill("SIGKILL");
    await poll(() => page.locator("main .error").innerText()).toContain("unreachable");
    expect(await page.locator("main").innerText()).toContain("Recent failures");
    await shot("16-server-unreachable");
  });
});

describe.skipIf(!hasChromium)("the web UI with admin auth", () => {
  const TOKEN = "ui-test-token-0123456789abcdef";
  let secured: EndureProcess;
  let context: BrowserContext;
  let dir: string;

  afterAll(async () => {
    await context?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    await secured?.stop();
  });

  it("loads without a token, asks for one when the API answers 401, and works once it is given", async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    secured = await startEndure({ env: { ENDURE_ADMIN_TOKENS: TOKEN } });
    // Only the UI's own files are open: its data comes from API calls that need the token.
    expect((await fetch(`${secured.adminUrl}/ui/app.js`)).status).toBe(200);
    expect((await fetch(`${secured.adminUrl}/ui/app.css`)).status).toBe(200);
    expect((await fetch(`${secured.adminUrl}/query`, { method: "POST", body: "{}" })).status).toBe(401);
    expect((await fetch(`${secured.adminUrl}/ui/x/deployments`)).status).toBe(401);
    ({ context, dir } = await launch());
    const p = await context.newPage();
    await p.goto(`${secured.adminUrl}/ui`);
    await poll(() => p.locator(".error").first().innerText()).toContain("401");
    await poll(() => p.locator(".dialog").count()).toBe(1);
    await p.screenshot({ path: path.join(ARTIFACTS, "14-token-prompt.png") });
    await p.locator('input[name="token"]').fill("wrong-token-but-long-enough");
    await p.getByRole("button", { name: "Use token" }).click();
    await poll(() => p.locator("main .error").innerText()).toContain("401");
    await poll(() => p.locator(".dialog").count()).toBe(1);
    await p.locator('input[name="token"]').fill(TOKEN);
    await p.getByRole("button", { name: "Use token" }).click();
    try {
      await poll(() => p.locator("main").innerText()).toContain("Invocations by status");
    } finally {
      await p.screenshot({ path: path.join(ARTIFACTS, "15-token-accepted.png") });
    }
    expect(await p.locator(".error").count()).toBe(0);
  });
});
