// As in realm-web's integration test, minus the MongoDB lookup: the secret must match,
// and the username is the external id.
exports = async function (loginPayload) {
  const { username, secret } = loginPayload;
  if (secret !== context.values.get("authSecret")) {
    throw new Error("Invalid secret");
  }
  if (username === "with-name") {
    return { id: "ext-with-name", name: "Named User" };
  }
  return `ext-${username}`;
};
