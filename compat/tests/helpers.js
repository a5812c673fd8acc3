// Shared set-up for the compatibility suite: which Warden to talk to, fresh apps with
// empty storage, unique emails, and the mail catcher's inbox.
"use strict";
const Realm = require("realm-web");

const BASE_URL = process.env.WARDEN_URL;
const APP_ID = process.env.WARDEN_APP_ID;
const CONFIRM_APP_ID = process.env.WARDEN_CONFIRM_APP_ID;
const FUNC_APP_ID = process.env.WARDEN_FUNC_APP_ID;
const OAUTH_APP_ID = process.env.WARDEN_OAUTH_APP_ID;
const IDP_URL = process.env.WARDEN_IDP_URL;

/** Asks the test's identity provider for a token: kind is id-token, code or facebook-token. */
async function idpToken(kind, claims, app = "") {
  const res = await fetch(`${IDP_URL}/${kind}?claims=${encodeURIComponent(JSON.stringify(claims))}&app=${encodeURIComponent(app)}`);
  return res.text();
}
const INBOX_URL = process.env.WARDEN_INBOX_URL;
if (!BASE_URL || !APP_ID) {
  throw new Error("set WARDEN_URL and WARDEN_APP_ID (the Go test e2e.TestCompat does this)");
}

/** A new App on a fresh, empty storage: nothing left from an earlier test. */
function freshApp(id = APP_ID) {
  Realm.getEnvironment().defaultStorage.clear();
  return new Realm.App({ id, baseUrl: BASE_URL, app: { name: "compat", version: "1.0.0" } });
}

/** Another App instance on the same storage, as after a page reload. */
function reloadedApp(id = APP_ID) {
  return new Realm.App({ id, baseUrl: BASE_URL, app: { name: "compat", version: "1.0.0" } });
}

let counter = 0;
function uniqueEmail(name) {
  counter++;
  return `${name}.${process.pid}.${Date.now()}.${counter}@example.com`;
}

/** Waits for a mail to `to` whose subject contains `subject`, and returns it. */
async function waitForMail(to, subject) {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    const res = await fetch(INBOX_URL);
    const mails = await res.json();
    const found = mails.filter((m) => m.to.includes(to) && m.subject.includes(subject));
    if (found.length > 0) return found[found.length - 1];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no mail to ${to} with subject containing "${subject}"`);
}

/** Extracts token and tokenId from the first link in a mail body. */
function tokensFromMail(mail) {
  const m = mail.body.match(/https?:\/\/\S+/);
  if (!m) throw new Error("no link in mail: " + mail.body);
  const url = new URL(m[0]);
  return { token: url.searchParams.get("token"), tokenId: url.searchParams.get("tokenId"), url };
}

/** Decodes a JWT's payload without checking it (as realm-web does). */
function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

module.exports = { Realm, BASE_URL, APP_ID, CONFIRM_APP_ID, FUNC_APP_ID, OAUTH_APP_ID, idpToken, freshApp, reloadedApp, uniqueEmail, waitForMail, tokensFromMail, jwtPayload };
