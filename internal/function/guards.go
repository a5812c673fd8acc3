package function

// allocationLimit bounds what one built-in may allocate in one step, which the time
// limit cannot interrupt: elements of an array (or characters of a string) and bytes of
// a buffer.
var allocationLimit = map[string]int64{"elements": 1 << 24, "bytes": 1 << 27}

// guardsPrelude wraps the built-ins that allocate in one step from a size, so that a size
// taken from a caller's arguments ("x".repeat(n), new Array(n)) cannot take the server's
// memory: past the bound they throw a RangeError, as a JavaScript engine does past its own
// limits. The originals stay reachable only through these wrappers.
const guardsPrelude = `
(function (limit) {
  "use strict";
  var maxElements = limit.elements, maxBytes = limit.bytes;
  function check(n, max, what) {
    n = Number(n);
    if (n > max) throw new RangeError(what + " of " + n + " is more than this server allows (" + max + ")");
  }
  function wrapMethod(proto, name, size) {
    var orig = proto[name];
    Object.defineProperty(proto, name, { value: function () { check(size(this, arguments), maxElements, name); return orig.apply(this, arguments); }, writable: true, configurable: true });
  }
  wrapMethod(String.prototype, "repeat", function (s, a) { return String(s).length * Number(a[0]); });
  wrapMethod(String.prototype, "padStart", function (s, a) { return a[0]; });
  wrapMethod(String.prototype, "padEnd", function (s, a) { return a[0]; });
  wrapMethod(Array.prototype, "fill", function (s) { return s.length; });
  wrapMethod(Array.prototype, "join", function (s) { return s.length; });
  function guardConstructor(name, check1) {
    var orig = globalThis[name];
    var w = function () {
      check1(arguments);
      if (new.target) return Reflect.construct(orig, arguments, new.target === w ? orig : new.target);
      return orig.apply(this, arguments);
    };
    Object.getOwnPropertyNames(orig).forEach(function (k) {
      if (k === "length" || k === "name" || k === "prototype" || k === "arguments" || k === "caller") return;
      Object.defineProperty(w, k, Object.getOwnPropertyDescriptor(orig, k));
    });
    Object.defineProperty(w, "name", { value: name });
    w.prototype = orig.prototype;
    Object.setPrototypeOf(w, Object.getPrototypeOf(orig));
    Object.defineProperty(orig.prototype, "constructor", { value: w, writable: true, configurable: true });
    globalThis[name] = w;
  }
  var from = Array.from;
  Array.from = function (items) { if (items != null) check(items.length, maxElements, "Array.from length"); return from.apply(this, arguments); };
  guardConstructor("Array", function (a) { if (a.length === 1 && typeof a[0] === "number") check(a[0], maxElements, "array length"); });
  ["ArrayBuffer", "SharedArrayBuffer"].forEach(function (n) {
    if (globalThis[n]) guardConstructor(n, function (a) { check(a[0], maxBytes, n + " size"); });
  });
  ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
   "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"].forEach(function (n) {
    if (!globalThis[n]) return;
    var per = globalThis[n].BYTES_PER_ELEMENT;
    guardConstructor(n, function (a) { if (typeof a[0] === "number") check(a[0] * per, maxBytes, n + " size"); });
  });
})(__wardenAllocationLimit);
delete globalThis.__wardenAllocationLimit;
`
