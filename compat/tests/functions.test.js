// Functions called from realm-web, custom-function login, and the email/password
// function modes.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { Realm, FUNC_APP_ID, freshApp, uniqueEmail } = require("./helpers");

test("user.functions calls App Services functions (realm-web's translate test)", async () => {
  const app = freshApp(FUNC_APP_ID);
  const user = await app.logIn(Realm.Credentials.anonymous());
  assert.equal(await user.functions.translate("hello", "en_fr"), "bonjour");
  assert.equal(await user.callFunction("translate", "bonjour", "fr_en"), "hello");
  await assert.rejects(user.functions.translate("hello", "en_de"), (err) => {
    assert.equal(err.statusCode, 400);
    assert.equal(err.errorCode, "FunctionExecutionError");
    assert.match(err.message, /Watch your language!/);
    return true;
  });
  assert.equal(user.state, "active", "a function error does not log the user out");
  assert.equal(await user.functions.sum(1, 2.5, 3), 6.5);
  assert.equal(await user.functions["utils/greet"]("Ann"), "Hello, Ann!");
});

test("functions see the calling user and run as system when configured", async () => {
  const app = freshApp(FUNC_APP_ID);
  const user = await app.logIn(Realm.Credentials.anonymous());
  const me = await user.functions.whoami();
  assert.deepEqual(me, { id: user.id, type: "normal", providers: ["anon-user"], email: null, system: false });
  assert.deepEqual(await user.functions.whoamiSystem(), { id: user.id, system: true });
  assert.equal(await user.functions.callsPrivate(7), "only the server may see this (7, tier test)");
});

test("private and unknown functions are refused without a 401", async () => {
  const app = freshApp(FUNC_APP_ID);
  const user = await app.logIn(Realm.Credentials.anonymous());
  await assert.rejects(user.functions.secretThing(), (err) => err.statusCode === 403 && err.errorCode === "NotCallable");
  await assert.rejects(user.functions.noSuchFunction(), (err) => {
    assert.equal(err.statusCode, 404);
    assert.equal(err.errorCode, "FunctionNotFound");
    assert.match(err.message, /function not found: 'noSuchFunction'/);
    return true;
  });
  assert.equal(user.state, "active");
});

test("an infinite loop is stopped at the time limit and the server keeps serving", async () => {
  const app = freshApp(FUNC_APP_ID);
  const user = await app.logIn(Realm.Credentials.anonymous());
  const started = Date.now();
  await assert.rejects(user.functions.spin(), (err) => err.errorCode === "ExecutionTimeLimitExceeded");
  assert.ok(Date.now() - started < 10000, "stopped near its 1 s limit");
  assert.equal(await user.functions.sum(2, 2), 4);
});

test("custom-function login (realm-web's credentials test)", async () => {
  const app = freshApp(FUNC_APP_ID);
  const user = await app.logIn(Realm.Credentials.function({ username: "my-very-own-username", secret: "v3ry-s3cret" }));
  assert.equal(user.providerType, "custom-function");
  assert.equal(user.identities[0].id, "ext-my-very-own-username");
  const again = await app.logIn(Realm.Credentials.function({ username: "my-very-own-username", secret: "v3ry-s3cret" }));
  assert.equal(again.id, user.id);
  const named = await app.logIn(Realm.Credentials.function({ username: "with-name", secret: "v3ry-s3cret" }));
  assert.equal(named.profile.name, "Named User");
  await assert.rejects(app.logIn(Realm.Credentials.function({ username: "x", secret: "wrong" })), (err) => {
    assert.equal(err.statusCode, 401);
    assert.match(err.message, /Invalid secret/);
    return true;
  });
});

test("email/password with a confirmation function: success, pending, fail", async () => {
  const app = freshApp(FUNC_APP_ID);
  const ok = { email: uniqueEmail("confirm-ok"), password: "password1" };
  await app.emailPasswordAuth.registerUser(ok);
  await app.logIn(Realm.Credentials.emailPassword(ok.email, ok.password));

  const pending = { email: uniqueEmail("pending-user"), password: "password1" };
  await app.emailPasswordAuth.registerUser(pending);
  await assert.rejects(app.logIn(Realm.Credentials.emailPassword(pending.email, pending.password)), (err) => err.statusCode === 401);
  await app.emailPasswordAuth.retryCustomConfirmation({ email: pending.email }); // still pending, no error

  const failing = { email: uniqueEmail("nobody"), password: "password1" };
  await assert.rejects(app.emailPasswordAuth.registerUser(failing), (err) => {
    assert.equal(err.statusCode, 400);
    assert.match(err.message, new RegExp(`failed to confirm user "${failing.email.replace(/\./g, "\\.")}"`));
    return true;
  });
  // Nothing was left behind: the email is free, and fails again the same way.
  await assert.rejects(app.emailPasswordAuth.registerUser(failing), /failed to confirm user/);
  await assert.rejects(app.emailPasswordAuth.resendConfirmationEmail({ email: pending.email }), /confirmation runs through a function/);
});

test("email/password with a reset function: success, fail, and the errors realm-web's test expects", async () => {
  const app = freshApp(FUNC_APP_ID);
  const creds = { email: uniqueEmail("confirm-reset"), password: "old-password" };
  await app.emailPasswordAuth.registerUser(creds);
  await assert.rejects(app.emailPasswordAuth.callResetPasswordFunction({ email: creds.email, password: "new-password" }, "no"),
    new RegExp(`failed to reset password for user "${creds.email.replace(/\./g, "\\.")}"`));
  await app.logIn(Realm.Credentials.emailPassword(creds.email, "old-password"));
  await app.emailPasswordAuth.callResetPasswordFunction({ email: creds.email, password: "new-password" }, "ok");
  await assert.rejects(app.logIn(Realm.Credentials.emailPassword(creds.email, "old-password")), /unauthorized/);
  await app.logIn(Realm.Credentials.emailPassword(creds.email, "new-password"));
  await assert.rejects(app.emailPasswordAuth.sendResetPasswordEmail({ email: creds.email }), /please use reset password via function/);
  await assert.rejects(app.emailPasswordAuth.callResetPasswordFunction({ email: uniqueEmail("unknown"), password: "whatever1" }, "ok"),
    (err) => err.statusCode === 404 && err.errorCode === "UserNotFound");
});

test("no state leaks from one user's call to another's", async () => {
  const app = freshApp(FUNC_APP_ID);
  const mallory = await app.logIn(Realm.Credentials.anonymous(false));
  assert.equal(await mallory.functions.leakSet("from mallory"), "set");
  const alice = await freshApp(FUNC_APP_ID).logIn(Realm.Credentials.anonymous(false));
  for (let i = 0; i < 8; i++) {
    assert.deepEqual(await alice.functions.leakGet(), { global: "undefined", polluted: "clean" });
  }
});
