// As realm-core's test app (baas_admin_api.cpp, update_user_data_func): upserts the
// calling user's custom user data document.
exports = async function(data) {
  const user = context.user;
  const mongodb = context.services.get("BackingDB");
  const userDataCollection = mongodb.db("test_data").collection("UserData");
  await userDataCollection.updateOne({ "user_id": user.id }, { "$set": data }, { "upsert": true });
  return true;
};
