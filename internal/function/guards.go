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
    Object.defineProperty(orig.prototype, "constructor", { value: w, writable: true, configurable: true });
    Object.setPrototypeOf(w, Object.getPrototypeOf(orig));
    globalThis[name] = w;
  }
  var from = Array.from;
  Array.from = function (items) { if (items != null) check(items.length, maxElements, "Array.from length"); return from.apply(this, arguments); };
  guardConstructor("Array", function (a) { if (a.length === 1 && typeof a[0] === "number") check(a[0], maxElements, "array length"); });
  // The buffer and typed-array constructors are wrapped on first use: most calls never
  // touch them, and making their wrappers costs more than the rest of the runtime.
  function lazily(name, check1) {
    var orig = globalThis[name];
    if (!orig) return;
    var made;
    Object.defineProperty(globalThis, name, {
      configurable: true, enumerable: false,
      get: function () {
        if (!made) {
          Object.defineProperty(globalThis, name, { value: orig, writable: true, configurable: true });
          guardConstructor(name, check1);
          made = globalThis[name];
        }
        return made;
      },
      set: function (v) { Object.defineProperty(globalThis, name, { value: v, writable: true, configurable: true }); }
    });
  }
  ["ArrayBuffer", "SharedArrayBuffer"].forEach(function (n) {
    lazily(n, function (a) { check(a[0], maxBytes, n + " size"); });
  });
  [["Int8Array", 1], ["Uint8Array", 1], ["Uint8ClampedArray", 1], ["Int16Array", 2], ["Uint16Array", 2], ["Int32Array", 4],
   ["Uint32Array", 4], ["Float32Array", 4], ["Float64Array", 8], ["BigInt64Array", 8], ["BigUint64Array", 8]].forEach(function (t) {
    var n = t[0], per = t[1];
    lazily(n, function (a) { if (typeof a[0] === "number") check(a[0] * per, maxBytes, n + " size"); });
  });
})(__wardenAllocationLimit);
delete globalThis.__wardenAllocationLimit;
`
