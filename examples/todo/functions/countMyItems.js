// The same count as the calling user: the rules show only their own items.
exports = async function () {
  const items = await context.services.get("mongodb-atlas").db("todo").collection("Item").find({}).toArray();
  return items.length;
};
