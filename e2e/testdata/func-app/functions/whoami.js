exports = async function () {
  const { id, type, identities, data } = context.user;
  return { id, type, providers: identities.map((i) => i.provider_type), email: data.email ?? null, system: context.runningAsSystem() };
};
