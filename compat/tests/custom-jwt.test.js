// Custom JWT login as realm-web's integration test does it, and its refusals.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { Realm, CONFIRM_APP_ID, freshApp } = require("./helpers");

const SECRET = "2k66QfKeTRk3MdZ5vpDYgZCu2k66QfKeTRk3MdZ5vpDYgZCu";

function hs256(claims, secret = SECRET) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = enc({ alg: "HS256", typ: "JWT" }) + "." + enc(claims);
  return body + "." + crypto.createHmac("sha256", secret).update(body).digest("base64url");
}

test("a custom JWT logs in and maps its metadata fields into the profile", async () => {
  const app = freshApp(CONFIRM_APP_ID);
  const sub = "jwt-user-" + crypto.randomUUID();
  const token = hs256({ aud: CONFIRM_APP_ID, exp: 4070908800, sub, mySecretField: "some-secret-stuff" });
  const user = await app.logIn(Realm.Credentials.jwt(token));
  assert.deepEqual(Object.keys(user.profile), ["secret"]);
  assert.equal(user.profile.secret, "some-secret-stuff");
  assert.equal(user.providerType, "custom-token");
  assert.equal(user.identities[0].id, sub);
  // The same sub is the same user.
  const again = await app.logIn(Realm.Credentials.jwt(hs256({ aud: CONFIRM_APP_ID, exp: 4070908800, sub, mySecretField: "x" })));
  assert.equal(again.id, user.id);
});

test("custom JWT refusals: wrong key, wrong audience, expired, missing required field", async () => {
  const app = freshApp(CONFIRM_APP_ID);
  const base = { aud: CONFIRM_APP_ID, exp: 4070908800, sub: "refused", mySecretField: "x" };
  const bad = [
    hs256(base, "some-other-secret-some-other-secret-some-other-secret"),
    hs256({ ...base, aud: "another-app" }),
    hs256({ ...base, exp: 1000 }),
    hs256({ aud: CONFIRM_APP_ID, exp: 4070908800, sub: "refused" }),
  ];
  for (const token of bad) {
    await assert.rejects(app.logIn(Realm.Credentials.jwt(token)), (err) => {
      assert.equal(err.statusCode, 401);
      assert.equal(err.errorCode, "AuthError");
      assert.match(err.message, /invalid custom auth token/);
      return true;
    });
  }
});

test("an anonymous user links a custom JWT identity", async () => {
  const app = freshApp(CONFIRM_APP_ID);
  const anon = await app.logIn(Realm.Credentials.anonymous());
  const sub = "linked-" + crypto.randomUUID();
  await anon.linkCredentials(Realm.Credentials.jwt(hs256({ aud: CONFIRM_APP_ID, exp: 4070908800, sub, mySecretField: "s" })));
  assert.deepEqual(anon.identities.map((i) => i.providerType), ["anon-user", "custom-token"]);
  const same = await app.logIn(Realm.Credentials.jwt(hs256({ aud: CONFIRM_APP_ID, exp: 4070908800, sub, mySecretField: "s" })));
  assert.equal(same.id, anon.id);
});
