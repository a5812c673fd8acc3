exports = async (x) => {
  const secret = await context.functions.execute("secretThing");
  return `${secret} (${x}, tier ${context.environment.values.tier})`;
};
