// Users migrated from App Services, seen through the real realm-web: e2e's
// TestMigrationFromAppServices imports an App Services users export into the server and
// runs this with the ids App Services gave them. The custom-JWT user logs in with the same
// token as before and gets the same id; the email/password user, imported without a
// password, cannot log in until it resets its password through the app's reset function,
// and then logs in with its old id.
"use strict";
const assert = require("node:assert/strict");
const Realm = require("realm-web");

const { WARDEN_URL, APP_ID, JWT, JWT_USER_ID, EMAIL, EMAIL_USER_ID } = process.env;

async function main() {
  const app = new Realm.App({ id: APP_ID, baseUrl: WARDEN_URL });

  const jwtUser = await app.logIn(Realm.Credentials.jwt(JWT));
  assert.equal(jwtUser.id, JWT_USER_ID, "the custom-JWT user keeps its App Services id");
  assert.equal(jwtUser.state, "active");

  await assert.rejects(app.logIn(Realm.Credentials.emailPassword(EMAIL, "any-password-at-all")), (err) => err.statusCode === 401);
  const password = "new-password-realm_tests_do_reset";
  await app.emailPasswordAuth.callResetPasswordFunction({ email: EMAIL, password });
  const emailUser = await app.logIn(Realm.Credentials.emailPassword(EMAIL, password));
  assert.equal(emailUser.id, EMAIL_USER_ID, "the email/password user keeps its App Services id");

  // Both are users of this device, with their ids.
  assert.deepEqual(Object.keys(app.allUsers).sort(), [JWT_USER_ID, EMAIL_USER_ID].sort());
  await emailUser.logOut();
  await jwtUser.logOut();
  console.log("migrated users: ok");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
