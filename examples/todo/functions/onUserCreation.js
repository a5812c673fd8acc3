// Runs once, as the system user, when a user is created: their custom user data document.
exports = async function (user) {
  const users = context.services.get("mongodb-atlas").db("todo").collection("users");
  await users.insertOne({ userId: user.id, favoriteColor: "blue", createdAt: new Date() });
};
