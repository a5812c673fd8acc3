// Runs as the calling user: the rules of todo.users let a user change only their own
// favoriteColor.
exports = async function (color) {
  const users = context.services.get("mongodb-atlas").db("todo").collection("users");
  const res = await users.updateOne({ userId: context.user.id }, { $set: { favoriteColor: color } });
  return res.modifiedCount;
};
