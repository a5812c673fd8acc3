// Tries to leave state behind for the next caller: a global and a polluted prototype.
exports = function (value) {
  globalThis.leftBehind = value;
  Object.prototype.polluted = value;
  return "set";
};
