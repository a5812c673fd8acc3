exports = (name) => `${context.values.get("greeting")}, ${name}!`;
