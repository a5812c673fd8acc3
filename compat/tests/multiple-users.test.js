// The "Work with Multiple Users" page of the App Services documentation, run with the
// real realm-web 2.0.1 against Warden.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { Realm, freshApp, reloadedApp, uniqueEmail } = require("./helpers");

test("register Joe and Emma, log both in: the last login is the active user", async () => {
  const app = freshApp();
  const joe = { email: uniqueEmail("joe"), password: "joe-password" };
  const emma = { email: uniqueEmail("emma"), password: "emma-password" };
  await app.emailPasswordAuth.registerUser(joe);
  await app.emailPasswordAuth.registerUser(emma);

  const joeUser = await app.logIn(Realm.Credentials.emailPassword(joe.email, joe.password));
  assert.equal(app.currentUser.id, joeUser.id);
  const emmaUser = await app.logIn(Realm.Credentials.emailPassword(emma.email, emma.password));
  assert.equal(app.currentUser.id, emmaUser.id, "the last login becomes the active user");
  assert.notEqual(joeUser.id, emmaUser.id);
  assert.equal(joeUser.profile.email, joe.email);
  assert.equal(emmaUser.profile.email, emma.email);

  // allUsers lists every user on the device with its state.
  const all = app.allUsers;
  assert.deepEqual(Object.keys(all).sort(), [joeUser.id, emmaUser.id].sort());
  assert.equal(all[joeUser.id].state, "active");
  assert.equal(all[emmaUser.id].state, "active");

  // Switch to Joe without logging in again.
  app.switchUser(joeUser);
  assert.equal(app.currentUser.id, joeUser.id);

  // Log Joe out: he stays on the device, logged out, and Emma becomes the active user.
  await joeUser.logOut();
  assert.equal(joeUser.state, "logged-out");
  assert.equal(app.allUsers[joeUser.id].state, "logged-out");
  assert.equal(app.currentUser.id, emmaUser.id);

  // Remove Emma: she is gone from the device and nobody is active.
  await app.removeUser(emmaUser);
  assert.equal(emmaUser.state, "removed");
  assert.equal(app.allUsers[emmaUser.id], undefined);
  assert.equal(app.currentUser, null);

  // Joe logs in again and gets his same user id back.
  const joeAgain = await app.logIn(Realm.Credentials.emailPassword(joe.email, joe.password));
  assert.equal(joeAgain.id, joeUser.id);
  assert.equal(app.currentUser.id, joeUser.id);
});

test("users and the active user survive a reload of the app (tokens in storage)", async () => {
  const app = freshApp();
  const creds = { email: uniqueEmail("reload"), password: "reload-password" };
  await app.emailPasswordAuth.registerUser(creds);
  const user = await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
  const anon = await app.logIn(Realm.Credentials.anonymous());

  const again = reloadedApp();
  assert.equal(again.currentUser.id, anon.id);
  assert.deepEqual(Object.keys(again.allUsers).sort(), [user.id, anon.id].sort());
  const restored = again.allUsers[user.id];
  assert.equal(restored.profile.email, creds.email);
  // The restored tokens work: refreshing the profile goes to the server.
  await restored.refreshProfile();
  assert.equal(restored.identities[0].providerType, "local-userpass");
});

test("a logged-out user's refresh token no longer works on the server", async () => {
  const app = freshApp();
  const creds = { email: uniqueEmail("logout"), password: "logout-password" };
  await app.emailPasswordAuth.registerUser(creds);
  const user = await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
  const refreshToken = user.refreshToken;
  await user.logOut();
  const res = await fetch(`${process.env.WARDEN_URL}/api/client/v2.0/auth/session`, {
    method: "POST",
    headers: { Authorization: `Bearer ${refreshToken}` },
  });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("content-type"), "application/json");
  const body = await res.json();
  assert.equal(body.error_code, "InvalidSession");
});
