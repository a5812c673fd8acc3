// As realm-core's test app (baas_admin_api.cpp, confirm_func), plus one case: a username
// containing "realm_tests_do_pending" stays pending, and its token is kept in
// test_data.PendingTokens so that the test can confirm it with POST .../confirm.
exports = async ({ token, tokenId, username }) => {
  if (username.includes("realm_tests_do_autoverify")) {
    return { status: "success" };
  }
  if (username.includes("realm_tests_do_pending")) {
    await context.services.get("BackingDB").db("test_data").collection("PendingTokens")
      .insertOne({ kind: "confirm", username, token, tokenId });
    return { status: "pending" };
  }
  return { status: "fail" };
};
