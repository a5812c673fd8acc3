// Returns its argument: for checking how Extended JSON arguments come back.
exports = (value) => value;
