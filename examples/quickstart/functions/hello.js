// Call it from realm-web with: await app.currentUser.functions.hello("Ann")
exports = async function (name = "world") {
  const { id, identities } = context.user;
  return { greeting: `Hello, ${name}!`, userId: id, provider: identities[0]?.provider_type };
};
