// As realm-core's test app (baas_admin_api.cpp, reset_func), plus one case: a new
// password containing "realm_tests_do_pending" keeps the reset pending, with its token in
// test_data.PendingTokens for a later POST .../reset.
exports = async ({ token, tokenId, username, password }) => {
  if (password.includes("realm_tests_do_reset")) {
    return { status: "success" };
  }
  if (password.includes("realm_tests_do_pending")) {
    await context.services.get("BackingDB").db("test_data").collection("PendingTokens")
      .insertOne({ kind: "reset", username, token, tokenId });
    return { status: "pending" };
  }
  return { status: "fail" };
};
