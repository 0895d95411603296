// Two identical functions of each kind: the bench lists only the "traced" ones.
exports.tracedSync = function tracedSync(a, b) {
  return a + b;
};
exports.plainSync = function plainSync(a, b) {
  return a + b;
};
exports.tracedAsync = async function tracedAsync(a, b) {
  return a + b;
};
exports.plainAsync = async function plainAsync(a, b) {
  return a + b;
};
