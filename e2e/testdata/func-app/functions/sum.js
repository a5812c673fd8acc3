exports = (...args) => args.reduce((a, b) => a + b, 0);
