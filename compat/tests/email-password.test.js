// Email confirmation and password reset through real mail (SMTP to the test's catcher).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { Realm, CONFIRM_APP_ID, freshApp, uniqueEmail, waitForMail, tokensFromMail } = require("./helpers");

test("a registered user confirms by the emailed link, then logs in", async () => {
  const app = freshApp(CONFIRM_APP_ID);
  const creds = { email: uniqueEmail("confirm"), password: "confirm-password" };
  await app.emailPasswordAuth.registerUser(creds);

  // Pending: login is refused until the email is confirmed.
  await assert.rejects(app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password)), (err) => {
    assert.equal(err.statusCode, 401);
    return true;
  });

  const mail = await waitForMail(creds.email, "Confirm");
  const { token, tokenId, url } = tokensFromMail(mail);
  assert.equal(url.origin + url.pathname, "http://localhost:3000/confirm");
  await assert.rejects(app.emailPasswordAuth.confirmUser({ token: token + "x", tokenId }), /invalid token data/);
  await app.emailPasswordAuth.confirmUser({ token, tokenId });
  // A token works once.
  await assert.rejects(app.emailPasswordAuth.confirmUser({ token, tokenId }), /invalid token data/);

  const user = await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
  assert.equal(user.profile.email, creds.email);
  await assert.rejects(app.emailPasswordAuth.resendConfirmationEmail({ email: creds.email }), /already confirmed/);
});

test("resending the confirmation mail sends a new working link", async () => {
  const app = freshApp(CONFIRM_APP_ID);
  const creds = { email: uniqueEmail("resend"), password: "resend-password" };
  await app.emailPasswordAuth.registerUser(creds);
  const first = tokensFromMail(await waitForMail(creds.email, "Confirm"));
  await app.emailPasswordAuth.resendConfirmationEmail({ email: creds.email });
  let second;
  for (let i = 0; i < 100; i++) {
    second = tokensFromMail(await waitForMail(creds.email, "Confirm"));
    if (second.tokenId !== first.tokenId) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.notEqual(second.tokenId, first.tokenId);
  await assert.rejects(app.emailPasswordAuth.confirmUser({ token: first.token, tokenId: first.tokenId }), /invalid token data/, "the older link no longer works");
  await app.emailPasswordAuth.confirmUser({ token: second.token, tokenId: second.tokenId });
  await app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
});

test("a password is reset through the emailed link", async () => {
  const app = freshApp(CONFIRM_APP_ID);
  const creds = { email: uniqueEmail("reset"), password: "old-password" };
  await app.emailPasswordAuth.registerUser(creds);
  const confirm = tokensFromMail(await waitForMail(creds.email, "Confirm"));
  await app.emailPasswordAuth.confirmUser({ token: confirm.token, tokenId: confirm.tokenId });

  // Someone who knows the old password is logged in elsewhere.
  const other = freshApp(CONFIRM_APP_ID);
  const before = await other.logIn(Realm.Credentials.emailPassword(creds.email, creds.password));
  await app.emailPasswordAuth.sendResetPasswordEmail({ email: creds.email });
  const { token, tokenId, url } = tokensFromMail(await waitForMail(creds.email, "Reset"));
  assert.equal(url.origin + url.pathname, "http://localhost:3000/reset");
  await app.emailPasswordAuth.resetPassword({ token, tokenId, password: "new-password" });
  // The reset ended that session: its next call fails and logs it out.
  await assert.rejects(before.refreshCustomData(), (err) => err.statusCode === 401);
  assert.equal(before.state, "logged-out", "the old session ended with the reset");

  await assert.rejects(app.logIn(Realm.Credentials.emailPassword(creds.email, creds.password)), /unauthorized/);
  const user = await app.logIn(Realm.Credentials.emailPassword(creds.email, "new-password"));
  assert.equal(user.profile.email, creds.email);
});

test("email/password errors the documentation names", async () => {
  const app = freshApp();
  const creds = { email: uniqueEmail("errors"), password: "errors-password" };
  await app.emailPasswordAuth.registerUser(creds);
  await assert.rejects(app.emailPasswordAuth.confirmUser({ token: "nope", tokenId: "nope" }), /invalid token data/);
  await assert.rejects(app.emailPasswordAuth.resendConfirmationEmail({ email: creds.email }), /already confirmed/);
  await assert.rejects(app.emailPasswordAuth.retryCustomConfirmation({ email: creds.email }),
    /cannot run confirmation for .*: automatic confirmation is enabled/);
  await assert.rejects(app.emailPasswordAuth.sendResetPasswordEmail({ email: uniqueEmail("unknown") }), (err) => {
    assert.equal(err.statusCode, 404);
    assert.equal(err.errorCode, "UserNotFound");
    return true;
  });
});
