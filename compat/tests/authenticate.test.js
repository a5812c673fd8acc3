// The "Authenticate Users" examples for anonymous and email/password users.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { Realm, freshApp, uniqueEmail, jwtPayload } = require("./helpers");

test("anonymous login: one identity, no name, empty custom data", async () => {
  const app = freshApp();
  const user = await app.logIn(Realm.Credentials.anonymous());
  assert.equal(user.state, "active");
  assert.equal(user.providerType, "anon-user");
  assert.equal(user.identities.length, 1);
  assert.equal(user.identities[0].providerType, "anon-user");
  assert.equal(user.profile.name, undefined);
  assert.deepEqual(user.customData, {});
  assert.match(user.deviceId, /^[0-9a-f]{24}$/);
  assert.equal(jwtPayload(user.accessToken).sub, user.id);
  // A user can be stringified (needs exp and iat in the access token).
  const json = JSON.parse(JSON.stringify(user));
  assert.equal(json.id, user.id);
});

test("anonymous login reuses the device's anonymous user unless asked not to", async () => {
  const app = freshApp();
  const first = await app.logIn(Realm.Credentials.anonymous());
  const again = await app.logIn(Realm.Credentials.anonymous());
  assert.equal(again.id, first.id, "the same anonymous user is reused on one device");
  const other = await app.logIn(Realm.Credentials.anonymous(false));
  assert.notEqual(other.id, first.id, "anonymous(false) makes a new user");
  assert.equal(Object.keys(app.allUsers).length, 2);
  // Both logins on this device share one device id.
  assert.equal(other.deviceId, first.deviceId);
});

test("refreshCustomData gets a new valid access token", async () => {
  const app = freshApp();
  const user = await app.logIn(Realm.Credentials.anonymous());
  const before = user.accessToken;
  await new Promise((r) => setTimeout(r, 1100)); // a later iat makes a different token
  const data = await user.refreshCustomData();
  assert.deepEqual(data, {});
  assert.notEqual(user.accessToken, before);
  const claims = jwtPayload(user.accessToken);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.exp - claims.iat, 1800, "access tokens live 30 minutes");
  await user.refreshProfile(); // the new token is accepted
});

test("email/password: wrong password and unknown user are both 'unauthorized'", async () => {
  const app = freshApp();
  const creds = { email: uniqueEmail("pw"), password: "right-password" };
  await app.emailPasswordAuth.registerUser(creds);
  for (const [email, pw] of [[creds.email, "wrong-password"], [uniqueEmail("nobody"), "whatever1"]]) {
    await assert.rejects(app.logIn(Realm.Credentials.emailPassword(email, pw)), (err) => {
      assert.equal(err.statusCode, 401);
      assert.equal(err.errorCode, "InvalidPassword");
      assert.match(err.message, /unauthorized/);
      return true;
    });
  }
  assert.equal(app.currentUser, null);
});

test("email/password: registering an email twice is AccountNameInUse, whatever its case", async () => {
  const app = freshApp();
  const email = uniqueEmail("Twice");
  await app.emailPasswordAuth.registerUser({ email, password: "password1" });
  await assert.rejects(app.emailPasswordAuth.registerUser({ email: email.toUpperCase(), password: "password2" }), (err) => {
    assert.equal(err.statusCode, 409);
    assert.equal(err.errorCode, "AccountNameInUse");
    assert.match(err.message, /name already in use/);
    return true;
  });
  // Logging in works with any case of the email.
  const user = await app.logIn(Realm.Credentials.emailPassword(email.toLowerCase(), "password1"));
  assert.equal(user.profile.email, email);
});

test("email/password: passwords must have 6 to 128 characters", async () => {
  const app = freshApp();
  for (const password of ["12345", "x".repeat(129)]) {
    await assert.rejects(app.emailPasswordAuth.registerUser({ email: uniqueEmail("short"), password }), (err) => {
      assert.equal(err.statusCode, 400);
      assert.match(err.message, /password must be between 6 and 128 characters/);
      return true;
    });
  }
});

test("deleteUser deletes the user: logging in again is 'unauthorized'", async () => {
  const app = freshApp();
  const creds = { email: uniqueEmail("delete"), password: "delete-me" };
  await app.emailPasswordAuth.registerUser(creds);
  const user = await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
  await app.deleteUser(user);
  assert.equal(user.state, "removed");
  assert.equal(app.currentUser, null);
  await assert.rejects(app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password)), /unauthorized/);
  // The email can be registered again, and it is a new user.
  await app.emailPasswordAuth.registerUser(creds);
  const again = await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
  assert.notEqual(again.id, user.id);
});

test("an invalid access token is refreshed and the request retried", async () => {
  const app = freshApp();
  const user = await app.logIn(Realm.Credentials.anonymous());
  // A token signed by someone else, expired long ago (as realm-web's own test plants).
  const fake = [
    Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url"),
    Buffer.from(JSON.stringify({ sub: user.id, exp: 1000, iat: 100, typ: "access" })).toString("base64url"),
    "c2lnbmF0dXJl",
  ].join(".");
  user.accessToken = fake;
  await user.refreshProfile();
  assert.notEqual(user.accessToken, fake, "the SDK refreshed the access token after a 401 InvalidSession");
  assert.equal(user.state, "active");
});

test("linking anonymous to email/password keeps the user and orders identities", async () => {
  const app = freshApp();
  const anon = await app.logIn(Realm.Credentials.anonymous());
  const creds = { email: uniqueEmail("link"), password: "link-password" };
  await app.emailPasswordAuth.registerUser(creds);
  await anon.linkCredentials(Realm.Credentials.emailPassword(creds.email, creds.password));
  assert.deepEqual(anon.identities.map((i) => i.providerType), ["anon-user", "local-userpass"]);
  assert.equal(anon.profile.email, creds.email);
  // Logging in with the linked credentials gives the same user.
  const same = await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
  assert.equal(same.id, anon.id);
});

test("linking credentials that belong to another user is refused without a retry loop", async () => {
  const app = freshApp();
  const creds = { email: uniqueEmail("owned"), password: "owned-password" };
  await app.emailPasswordAuth.registerUser(creds);
  const owner = await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
  const anon = await app.logIn(Realm.Credentials.anonymous(false));
  await assert.rejects(anon.linkCredentials(Realm.Credentials.emailPassword(creds.email, creds.password)), (err) => {
    assert.equal(err.statusCode, 409);
    assert.notEqual(err.errorCode, "InvalidSession");
    return true;
  });
  await assert.rejects(anon.linkCredentials(Realm.Credentials.emailPassword(creds.email, "wrong-password")), (err) => {
    assert.equal(err.statusCode, 401);
    assert.notEqual(err.error, "unauthorized", "exactly 'unauthorized' makes realm-web loop");
    return true;
  });
  assert.equal(anon.identities.length, 1);
  assert.notEqual(owner.id, anon.id);
});
