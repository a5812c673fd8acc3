// User API keys as realm-web's own integration test uses them, and their refusals.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { Realm, freshApp, uniqueEmail } = require("./helpers");

async function emailUser(app) {
  const creds = { email: uniqueEmail("keys"), password: "keys-password" };
  await app.emailPasswordAuth.registerUser(creds);
  return { user: await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password)), creds };
}

test("create, fetch, list, disable, enable, log in with, and delete a user API key", async () => {
  const app = freshApp();
  const { user, creds } = await emailUser(app);
  assert.deepEqual(await user.apiKeys.fetchAll(), []);

  const created = await user.apiKeys.create("my-key");
  assert.equal(typeof created._id, "string");
  assert.match(created._id, /^[0-9a-f]{24}$/);
  assert.equal(typeof created.key, "string");
  assert.equal(created.name, "my-key");
  assert.equal(created.disabled, false);

  assert.equal((await user.apiKeys.fetchAll()).length, 1);
  await user.apiKeys.disable(created._id);
  assert.deepEqual(await user.apiKeys.fetch(created._id), { _id: created._id, name: "my-key", disabled: true });
  await assert.rejects(app.logIn(Realm.Credentials.apiKey(created.key)), /unauthorized/, "a disabled key cannot log in");
  await user.apiKeys.enable(created._id);
  assert.deepEqual(await user.apiKeys.fetch(created._id), { _id: created._id, name: "my-key", disabled: false });

  const keyUser = await app.logIn(Realm.Credentials.apiKey(created.key));
  assert.equal(keyUser.id, user.id, "a user API key logs in as its owner");

  // The session opened with the key cannot delete that key.
  await assert.rejects(keyUser.apiKeys.delete(created._id), (err) => {
    assert.equal(err.statusCode, 403);
    return true;
  });
  await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
  await user.apiKeys.delete(created._id);
  assert.deepEqual(await user.apiKeys.fetchAll(), []);
  await assert.rejects(app.logIn(Realm.Credentials.apiKey(created.key)), /unauthorized/, "a deleted key cannot log in");
});

test("API key refusals: bad names, duplicates, other users' keys, anonymous users", async () => {
  const app = freshApp();
  const { user } = await emailUser(app);
  await assert.rejects(user.apiKeys.create("not ok!"), (err) => {
    assert.equal(err.statusCode, 400);
    assert.equal(err.errorCode, "InvalidParameter");
    assert.match(err.message, /ASCII letters, numbers, underscores, and hyphens/);
    return true;
  });
  const key = await user.apiKeys.create("dup");
  await assert.rejects(user.apiKeys.create("dup"), (err) => err.statusCode === 409 && err.errorCode === "APIKeyAlreadyExists");

  const { user: other } = await emailUser(app);
  await assert.rejects(other.apiKeys.fetch(key._id), (err) => err.statusCode === 404 && err.errorCode === "APIKeyNotFound");
  await assert.rejects(other.apiKeys.disable(key._id), (err) => err.statusCode === 404 && /doesn't exist/.test(err.message));
  assert.equal(other.state, "active", "a refused key call does not log the user out");

  const anon = await app.logIn(Realm.Credentials.anonymous());
  await assert.rejects(anon.apiKeys.create("anon-key"), (err) => err.statusCode === 403);
});
