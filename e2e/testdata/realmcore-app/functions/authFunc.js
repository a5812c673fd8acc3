// As realm-core's test app (baas_admin_api.cpp, auth_func).
exports = (loginPayload) => {
  return loginPayload["realmCustomAuthFuncUserId"];
};
