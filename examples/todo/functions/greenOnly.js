// Callable only by users whose favorite color is green: its can_evaluate rule reads the
// caller's custom user data.
exports = function () {
  return "welcome, " + context.user.custom_data.favoriteColor + " fan";
};
