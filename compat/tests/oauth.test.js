// Google, Apple and Facebook logins with tokens (the non-redirect credentials), against a
// local identity provider that signs real tokens; and linking one to an anonymous user.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { Realm, OAUTH_APP_ID, freshApp, idpToken } = require("./helpers");

test("Google id token and auth code log the same Google account in", async () => {
  const app = freshApp(OAUTH_APP_ID);
  const claims = { sub: "g-" + Date.now(), email: "gail@example.com", email_verified: true, name: "Gail", picture: "https://x/g.png" };
  const user = await app.logIn(Realm.Credentials.google({ idToken: await idpToken("id-token", claims) }));
  assert.equal(user.providerType, "oauth2-google");
  assert.equal(user.profile.email, "gail@example.com");
  assert.equal(user.profile.name, "Gail");
  assert.equal(user.profile.pictureUrl, "https://x/g.png");
  const again = await app.logIn(Realm.Credentials.google({ authCode: await idpToken("code", claims) }));
  assert.equal(again.id, user.id);
});

test("Google refusals: wrong audience, expired, missing required email", async () => {
  const app = freshApp(OAUTH_APP_ID);
  const bad = [
    { sub: "g-x", email: "a@example.com", aud: "someone-else" },
    { sub: "g-x", email: "a@example.com", exp: 1000 },
    { sub: "g-x" },
  ];
  for (const claims of bad) {
    await assert.rejects(app.logIn(Realm.Credentials.google({ idToken: await idpToken("id-token", claims) })), (err) => {
      assert.equal(err.statusCode, 401);
      assert.match(err.message, /invalid oauth2-google credentials/);
      return true;
    });
  }
});

test("Apple id token", async () => {
  const app = freshApp(OAUTH_APP_ID);
  const user = await app.logIn(Realm.Credentials.apple(await idpToken("id-token", { sub: "apple-" + Date.now(), email: "ann@privaterelay.example" })));
  assert.equal(user.providerType, "oauth2-apple");
  assert.equal(user.profile.email, "ann@privaterelay.example");
});

test("Facebook access token, and one issued to another app is refused", async () => {
  const app = freshApp(OAUTH_APP_ID);
  const fbUser = { id: "fb-" + Date.now(), name: "Fay", email: "fay@example.com" };
  const user = await app.logIn(Realm.Credentials.facebook(await idpToken("facebook-token", fbUser, "warden-client-id")));
  assert.equal(user.providerType, "oauth2-facebook");
  assert.equal(user.profile.name, "Fay");
  await assert.rejects(app.logIn(Realm.Credentials.facebook(await idpToken("facebook-token", fbUser, "another-app"))), /another app/);
});

test("an anonymous user links a Google identity; it cannot then be linked to another user", async () => {
  const app = freshApp(OAUTH_APP_ID);
  const anon = await app.logIn(Realm.Credentials.anonymous());
  const claims = { sub: "g-link-" + Date.now(), email: "lee@example.com", email_verified: true };
  await anon.linkCredentials(Realm.Credentials.google({ idToken: await idpToken("id-token", claims) }));
  assert.deepEqual(anon.identities.map((i) => i.providerType), ["anon-user", "oauth2-google"]);
  const other = await app.logIn(Realm.Credentials.anonymous(false));
  await assert.rejects(other.linkCredentials(Realm.Credentials.google({ idToken: await idpToken("id-token", claims) })), (err) => {
    assert.equal(err.statusCode, 409);
    return true;
  });
  const google = await app.logIn(Realm.Credentials.google({ idToken: await idpToken("id-token", claims) }));
  assert.equal(google.id, anon.id);
});
