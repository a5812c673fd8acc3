package function

import "github.com/wardenauth/warden/internal/ejson"

// allocationLimit bounds what one built-in may allocate in one step, which the time
// limit cannot interrupt: elements of an array (or characters of a string) and bytes of
// a buffer; and how deeply JSON.parse may recurse.
func allocationLimit() map[string]any {
	return map[string]any{"elements": 1 << 24, "bytes": 1 << 27, "depth": ejson.MaxDepth,
		"depthOK": func(text string) bool { return ejson.CheckDepth([]byte(text), ejson.MaxDepth) == nil }}
}

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
  // join's result is the elements' text and the separators: counted before it is built.
  wrapMethod(Array.prototype, "join", function (s, a) {
    var n = s.length, sep = a[0] === undefined ? 1 : String(a[0]).length;
    var total = n > 0 ? (n - 1) * sep : 0;
    for (var i = 0; i < n && total <= maxElements; i++) {
      var e = s[i];
      total += typeof e === "string" ? e.length : 24;
    }
    return total;
  });
  wrapMethod(String.prototype, "concat", function (s, a) {
    var total = String(s).length;
    for (var i = 0; i < a.length; i++) total += String(a[i]).length;
    return total;
  });
  wrapMethod(Array.prototype, "concat", function (s, a) {
    var total = s.length;
    for (var i = 0; i < a.length; i++) total += Array.isArray(a[i]) ? a[i].length : 1;
    return total;
  });
  // replace and replaceAll: at most the text plus one replacement per match.
  function replacedSize(str, pattern, repl, all) {
    str = String(str);
    if (typeof repl === "function") return str.length;
    repl = String(repl);
    if (repl.length * (str.length + 1) + str.length <= maxElements) return 0;
    var matches = 0;
    if (pattern instanceof RegExp) {
      if (!pattern.global) return str.length + repl.length;
      var re = new RegExp(pattern.source, pattern.flags), m;
      while ((m = re.exec(str)) !== null) {
        matches++;
        if (m[0] === "") re.lastIndex++;
        if (str.length + matches * repl.length > maxElements) break;
      }
    } else {
      pattern = String(pattern);
      if (pattern === "") matches = all ? str.length + 1 : 1;
      else for (var at = str.indexOf(pattern); at >= 0; at = all ? str.indexOf(pattern, at + pattern.length) : -1) {
        matches++;
        if (str.length + matches * repl.length > maxElements) break;
      }
    }
    return str.length + matches * repl.length;
  }
  function guardReplacer(repl) {
    if (typeof repl !== "function") return repl;
    var total = 0;
    return function () {
      var out = String(repl.apply(this, arguments));
      total += out.length;
      check(total, maxElements, "replacement text");
      return out;
    };
  }
  ["replace", "replaceAll"].forEach(function (name) {
    var orig = String.prototype[name];
    Object.defineProperty(String.prototype, name, { value: function (pattern, repl) {
      check(replacedSize(this, pattern, repl, name === "replaceAll" || (pattern instanceof RegExp && pattern.global)), maxElements, name + " result");
      return orig.call(this, pattern, guardReplacer(repl));
    }, writable: true, configurable: true });
  });
  // JSON.parse recurses once per level of nesting: bounded as request bodies are.
  var parse = JSON.parse, depthOK = limit.depthOK;
  JSON.parse = function (text) {
    if (!depthOK(String(text))) throw new SyntaxError("JSON nested more than " + limit.depth + " levels deep");
    return parse.apply(this, arguments);
  };
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
