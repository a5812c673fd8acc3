// The admin console in real headless Chromium: sign in, search, open a user, disable,
// delete, and the audit log. e2e.TestConsole starts Warden, makes an admin key and some
// users, and sets the environment (NODE_PATH finds playwright-core in examples/web).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const URL_ = process.env.WARDEN_URL;
const KEY = process.env.ADMIN_KEY;
const APP = "quickstart-abcde";
const ARTIFACTS = process.env.ARTIFACTS;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

async function api(method, p) {
  const res = await fetch(`${URL_}/api/admin/v1/apps/${APP}${p}`, { method, headers: { Authorization: "Bearer " + KEY } });
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}

test("sign in, search, disable and delete a user, and read the audit log", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, name + ".png"), fullPage: true });
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const violations = [];
    page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
    page.on("dialog", (d) => d.accept());
    page.on("pageerror", (e) => violations.push(e.message));

    await page.goto(URL_ + "/console/");
    await page.waitForSelector("#signin:not([hidden])");
    assert.equal(await page.isVisible("#nav"), false, "the navigation is hidden before sign-in");
    await shot(page, "01-sign-in");

    // A wrong key is refused.
    await page.fill("#key", "wadm_wrong");
    await page.click("#signin button[type=submit]");
    await page.waitForFunction(() => document.getElementById("status").classList.contains("error"));
    assert.match(await page.textContent("#status"), /refused/);

    await page.fill("#key", KEY);
    await page.click("#signin button[type=submit]");
    await page.waitForSelector("#users:not([hidden]) #users-body tr");
    assert.equal(await page.$$eval("#users-body tr", (r) => r.length), 3);
    await shot(page, "02-users");

    await page.fill("#search", "bob@");
    await page.click("#search-form button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("#users-body tr").length === 1);
    assert.match(await page.textContent("#users-body"), /bob@example\.com/);
    await shot(page, "03-search");

    await page.click("#users-body a");
    await page.waitForSelector("#user:not([hidden])");
    assert.match(await page.textContent("#user-facts"), /bob@example\.com/);
    assert.equal(await page.$$eval("#sessions tr", (r) => r.length), 1, "bob's one session is listed");
    await shot(page, "04-user");
    const bobID = (await page.textContent("#user-facts dd")).trim();

    await page.click("#disable");
    await page.waitForFunction(() => /Disabled the user/.test(document.getElementById("status").textContent));
    assert.match(await page.textContent("#user-facts"), /disabled/);
    const detail = await api("GET", "/users/" + bobID);
    assert.equal(detail.body.user.disabled, true);
    assert.equal(detail.body.sessions.length, 0, "disabling ended bob's sessions");
    const login = await fetch(`${URL_}/api/client/v2.0/app/${APP}/auth/providers/local-userpass/login`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: "bob@example.com", password: "password1" }),
    });
    assert.equal(login.status, 401, "a disabled user cannot log in");
    await shot(page, "05-disabled");

    await page.click("#delete");
    await page.waitForSelector("#users:not([hidden])");
    await page.waitForFunction(() => /Deleted the user/.test(document.getElementById("status").textContent));
    assert.equal((await api("GET", "/users/" + bobID)).status, 404);
    await page.fill("#search", "");
    await page.click("#search-form button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("#users-body tr").length === 2);
    assert.doesNotMatch(await page.textContent("#users-body"), /bob@example\.com/);
    await shot(page, "06-after-delete");

    await new Promise((r) => setTimeout(r, 300)); // the audit log is written in the background
    await page.click("nav [data-view=audit]");
    await page.waitForSelector("#audit:not([hidden]) #audit-body tr");
    const audit = await page.textContent("#audit-body");
    assert.match(audit, /user\.disable/);
    assert.match(audit, /user\.delete/);
    assert.match(audit, /admin:ops/);
    await shot(page, "07-audit");

    await page.setViewportSize({ width: 380, height: 800 });
    await page.click("nav [data-view=users]");
    await page.waitForSelector("#users:not([hidden])");
    await shot(page, "08-narrow");

    assert.deepEqual(violations, [], "no script error and no Content-Security-Policy violation");
    await context.close();
  } finally {
    await browser.close();
  }
});
