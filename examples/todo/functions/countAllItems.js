// A system function: it bypasses the rules and counts every user's items.
exports = async function () {
  return await context.services.get("mongodb-atlas").db("todo").collection("Item").count({});
};
