// A system function: it writes a field that the rules hide from the item's owner, and
// returns the whole document as the system user sees it.
exports = async function (id) {
  const items = context.services.get("mongodb-atlas").db("todo").collection("Item");
  await items.updateOne({ _id: id }, { $set: { internalNote: "reviewed by support" } });
  return await items.findOne({ _id: id });
};
