// As realm-core's test app (test/object-store/util/sync/baas_admin_api.cpp, sum_func).
exports = function(...args) {
  return args.reduce((a, b) => a + b, 0);
};
