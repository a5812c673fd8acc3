// The example page in real headless Chromium (Debian's chromium, driven by
// playwright-core): the multi-user flow through its buttons, reloads, an expired access
// token, logout clearing storage, and allowed_request_origins. e2e.TestBrowser starts
// Warden and the static servers and sets the environment; screenshots go to ARTIFACTS.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const WARDEN_URL = process.env.WARDEN_URL; // serves this folder with --static
const APP_ID = process.env.WARDEN_APP_ID;
const WEB_APP_ID = process.env.WARDEN_WEB_APP_ID; // allowed_request_origins = [ALLOWED_ORIGIN]
const ALLOWED_ORIGIN = process.env.ALLOWED_ORIGIN;
const BLOCKED_ORIGIN = process.env.BLOCKED_ORIGIN;
const SIGNING_KEY = process.env.WARDEN_SIGNING_KEY_FILE;
const ARTIFACTS = process.env.ARTIFACTS || path.join(__dirname, "..", "artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
if (!WARDEN_URL || !APP_ID) throw new Error("run through e2e.TestBrowser, which sets WARDEN_URL and the rest");

let browser;
test.before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
});
test.after(async () => browser && (await browser.close()));

async function openPage(url) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept());
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(url);
  await page.waitForSelector("#users");
  return { context, page };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, name + ".png"), fullPage: true });
}

/** Waits until the status line says something matching re; fails on an error status. */
async function status(page, re) {
  await page.waitForFunction(
    (src) => new RegExp(src).test(document.getElementById("status").textContent) || document.getElementById("status").classList.contains("error"),
    re.source,
  );
  const text = await page.textContent("#status");
  assert.match(text, re);
  return text;
}

let n = 0;
const email = (name) => `${name}.${process.pid}.${Date.now()}.${++n}@example.com`;

async function register(page, address) {
  await page.fill("#email", address);
  await page.fill("#password", "password1");
  await page.click("#register");
  await status(page, /^Registered /);
  await page.click("#login");
  await status(page, new RegExp("^Logged in " + address.replace(/[.+]/g, "\\$&")));
}

const rows = (page) => page.$$eval("#users tbody tr", (trs) => trs.map((tr) => ({ id: tr.dataset.userId, state: tr.dataset.state, text: tr.cells[0].textContent })));
const current = (page) => page.textContent("#current-user");
const storageKeys = (page) => page.evaluate(() => Object.keys(localStorage));

test("several users through the page's buttons: log in, switch, log out, remove, delete", async () => {
  const { context, page } = await openPage(WARDEN_URL + "/");
  const ann = email("ann"), ben = email("ben");
  await register(page, ann);
  await register(page, ben);
  await page.click("#anonymous");
  await status(page, /^Logged in anonymously/);
  let list = await rows(page);
  assert.equal(list.length, 3);
  assert.deepEqual(list.map((r) => r.state), ["active", "active", "active"]);
  assert.equal(await current(page), list[0].id, "the last login (the anonymous user) is current");
  await shot(page, "01-three-users");

  await page.click(`button[aria-label="Switch to ${ann}"]`);
  await status(page, /^Switched to /);
  assert.equal(await current(page), ann);

  await page.click(`button[aria-label="Log out ${ben}"]`);
  await status(page, /^Logged out /);
  list = await rows(page);
  assert.equal(list.find((r) => r.text === ben).state, "logged-out", "a logged-out user stays on the list");
  await shot(page, "02-ben-logged-out");

  await page.click(`button[aria-label="Remove ${ben} from this browser"]`);
  await status(page, /^Removed /);
  assert.equal((await rows(page)).some((r) => r.text === ben), false);

  const anon = (await rows(page)).find((r) => r.text !== ann);
  await page.click(`button[aria-label="Delete the account of ${anon.id}"]`);
  await status(page, /^Deleted /);
  list = await rows(page);
  assert.deepEqual(list.map((r) => r.text), [ann]);
  assert.equal(await current(page), ann);
  await shot(page, "03-after-delete");
  await page.setViewportSize({ width: 375, height: 800 });
  await shot(page, "03b-narrow-screen");

  // The deleted user is gone from the server too: its refresh token no longer works.
  const res = await fetch(`${WARDEN_URL}/api/client/v2.0/app/${APP_ID}/auth/providers/local-userpass/login`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: ann, password: "password1" }),
  });
  assert.equal(res.status, 200, "ann can still log in");
  await context.close();
});

test("a reload keeps the users and the active user (tokens in localStorage)", async () => {
  const { context, page } = await openPage(WARDEN_URL + "/");
  const cy = email("cy"), di = email("di");
  await register(page, cy);
  await register(page, di);
  await page.click(`button[aria-label="Log out ${cy}"]`);
  await status(page, /^Logged out /);
  const before = await rows(page);
  const keys = await storageKeys(page);
  assert.ok(keys.some((k) => k.startsWith(`realm-web:app(${APP_ID}):user(`) && k.endsWith(":refreshToken")), "tokens are in localStorage");

  await page.reload();
  await page.waitForSelector("#users tbody tr");
  assert.deepEqual(await rows(page), before);
  assert.equal(await current(page), di);
  await page.click(`button[aria-label="Refresh the profile of ${di}"]`);
  await status(page, /^Refreshed the profile/);
  await shot(page, "04-after-reload");
  await context.close();
});

test("an expired access token is refreshed in the browser", async (t) => {
  if (!SIGNING_KEY) return t.skip("WARDEN_SIGNING_KEY_FILE not set");
  const { context, page } = await openPage(WARDEN_URL + "/");
  const ed = email("ed");
  await register(page, ed);
  const key = await page.evaluate((id) => {
    const ids = JSON.parse(localStorage.getItem(`realm-web:app(${id}):userIds`));
    return `realm-web:app(${id}):user(${ids[0]}):accessToken`;
  }, APP_ID);
  const fresh = await page.evaluate((k) => localStorage.getItem(k), key);

  // The same token, signed by the server's key, but expired a minute ago.
  const [h, p] = fresh.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  const claims = JSON.parse(Buffer.from(p, "base64url"));
  claims.iat -= 3600;
  claims.exp = Math.floor(Date.now() / 1000) - 60;
  const unsigned = Buffer.from(JSON.stringify(header)).toString("base64url") + "." + Buffer.from(JSON.stringify(claims)).toString("base64url");
  const sig = crypto.sign(null, Buffer.from(unsigned), fs.readFileSync(SIGNING_KEY)).toString("base64url");
  const expired = unsigned + "." + sig;
  await page.evaluate(([k, v]) => localStorage.setItem(k, v), [key, expired]);
  await page.reload();
  await page.waitForSelector("#users tbody tr");

  const seen = [];
  page.on("response", (r) => seen.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`));
  await page.click(`button[aria-label="Refresh the profile of ${ed}"]`);
  await status(page, /^Refreshed the profile/);
  assert.ok(seen.some((s) => s.endsWith("/auth/profile 401")), "the expired token was refused: " + seen.join(", "));
  assert.ok(seen.some((s) => s === "POST /api/client/v2.0/auth/session 201" || s === "POST /api/client/v2.0/auth/session 200"), "the SDK refreshed: " + seen.join(", "));
  const now = await page.evaluate((k) => localStorage.getItem(k), key);
  assert.notEqual(now, expired);
  assert.ok(JSON.parse(Buffer.from(now.split(".")[1], "base64url")).exp > Date.now() / 1000, "the stored token is fresh");
  await context.close();
});

test("logging out clears that user's tokens from storage, and only that user's", async () => {
  const { context, page } = await openPage(WARDEN_URL + "/");
  const fay = email("fay"), gus = email("gus");
  await register(page, fay);
  await register(page, gus);
  const ids = Object.fromEntries((await rows(page)).map((r) => [r.text, r.id]));
  await page.click(`button[aria-label="Log out ${fay}"]`);
  await status(page, /^Logged out /);
  const keys = await storageKeys(page);
  const prefix = (who) => `realm-web:app(${APP_ID}):user(${ids[who]}):`;
  assert.ok(!keys.includes(prefix(fay) + "accessToken") && !keys.includes(prefix(fay) + "refreshToken"), "fay's tokens are gone");
  assert.ok(keys.includes(prefix(gus) + "accessToken") && keys.includes(prefix(gus) + "refreshToken"), "gus's tokens are still there");
  await shot(page, "05-logged-out-storage");
  await context.close();
});

test("allowed_request_origins: an allowed origin works across origins, another is refused", async (t) => {
  if (!WEB_APP_ID) return t.skip("no restricted app configured");
  const query = `?baseUrl=${encodeURIComponent(WARDEN_URL)}&appId=${encodeURIComponent(WEB_APP_ID)}`;

  const ok = await openPage(ALLOWED_ORIGIN + "/" + query);
  await ok.page.click("#anonymous");
  await status(ok.page, /^Logged in anonymously/);
  assert.equal((await rows(ok.page)).length, 1);
  await shot(ok.page, "06-allowed-origin");
  await ok.context.close();

  const bad = await openPage(BLOCKED_ORIGIN + "/" + query);
  const failed = [];
  bad.page.on("requestfailed", (r) => failed.push(r.url()));
  await bad.page.click("#anonymous");
  const text = await status(bad.page, /Could not/);
  assert.match(text, /Could not log in anonymously/);
  assert.equal((await rows(bad.page)).length, 0, "no user on the refused origin");
  // The browser hides the 403 from the page (no CORS headers on it) and fails the request;
  // e2e.TestBrowser checks the server's log for the 403 itself.
  assert.ok(failed.some((u) => u.startsWith(WARDEN_URL)), "the request to Warden failed in the browser: " + failed.join(", "));
  await shot(bad.page, "07-refused-origin");
  await bad.context.close();
});
