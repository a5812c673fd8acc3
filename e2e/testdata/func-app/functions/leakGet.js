// Reports what a previous call may have left behind.
exports = function () {
  return { global: typeof globalThis.leftBehind, polluted: ({}).polluted === undefined ? "clean" : "polluted" };
};
