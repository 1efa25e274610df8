// The scenario planner's model evaluator: the ONE implementation of its arithmetic.
//
// The server runs this file in an embedded JavaScript engine (QuickJS) to compute every number
// written into the page; the page runs the same file for what-if. A model is JSON built by the
// server (app/scenario): constant cells, formula cells as small expression trees over a vetted
// function set, and the order to evaluate them in. No eval, no new Function: CSP-safe.
//
// Expression nodes: ["n", number] ["s", text] ["b", bool] ["r", cell] ["g", [cells]]
// ["u", "-"|"+", x] ["p", x] (percent) ["o", op, a, b] ["f", NAME, [args]].
(function (root) {
  "use strict";

  function err(code) { return { error: code }; }
  function isErr(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

  function toNumber(v) {
    if (v === null || v === undefined) { return 0; }
    if (typeof v === "number") { return v; }
    if (typeof v === "boolean") { return v ? 1 : 0; }
    if (isErr(v)) { return v; }
    var text = String(v).trim();
    if (text === "") { return 0; }
    var n = Number(text);
    return isNaN(n) ? err("#VALUE!") : n;
  }

  function toText(v) {
    if (v === null || v === undefined) { return ""; }
    if (typeof v === "boolean") { return v ? "TRUE" : "FALSE"; }
    return String(v);
  }

  function toBool(v) {
    if (isErr(v)) { return v; }
    if (typeof v === "string") {
      var upper = v.toUpperCase();
      if (upper === "TRUE") { return true; }
      if (upper === "FALSE") { return false; }
      return err("#VALUE!");
    }
    return toNumber(v) !== 0;
  }

  function finite(n) { return isFinite(n) ? n : err("#NUM!"); }

  function arithmetic(op, a, b) {
    var x = toNumber(a), y = toNumber(b);
    if (isErr(x)) { return x; }
    if (isErr(y)) { return y; }
    switch (op) {
      case "+": return x + y;
      case "-": return x - y;
      case "*": return x * y;
      case "/": return y === 0 ? err("#DIV/0!") : x / y;
      case "^": return finite(Math.pow(x, y));
    }
    return err("#VALUE!");
  }

  function rank(v) {
    if (typeof v === "boolean") { return 2; }
    if (typeof v === "string") { return 1; }
    return 0;
  }

  function compare(op, a, b) {
    if (isErr(a)) { return a; }
    if (isErr(b)) { return b; }
    if (a === null) { a = typeof b === "string" ? "" : (typeof b === "boolean" ? false : 0); }
    if (b === null) { b = typeof a === "string" ? "" : (typeof a === "boolean" ? false : 0); }
    var c;
    if (rank(a) !== rank(b)) {
      c = rank(a) - rank(b);
    } else if (typeof a === "string") {
      var x = a.toLowerCase(), y = b.toLowerCase();
      c = x < y ? -1 : (x > y ? 1 : 0);
    } else {
      c = Number(a) - Number(b);
    }
    switch (op) {
      case "=": return c === 0;
      case "<>": return c !== 0;
      case "<": return c < 0;
      case ">": return c > 0;
      case "<=": return c <= 0;
      case ">=": return c >= 0;
    }
    return err("#VALUE!");
  }

  // Numbers taken by SUM, MIN, MAX, AVERAGE: ranges skip text and blanks, direct arguments count.
  function numbersOf(args, values) {
    var out = [];
    for (var i = 0; i < args.length; i++) {
      var node = args[i];
      if (node[0] === "g") {
        for (var j = 0; j < node[1].length; j++) {
          var v = values[node[1][j]];
          if (isErr(v)) { return v; }
          if (typeof v === "number") { out.push(v); }
        }
      } else {
        var n = toNumber(evalNode(node, values));
        if (isErr(n)) { return n; }
        out.push(n);
      }
    }
    return out;
  }

  function roundHalfAway(x, digits) {
    var factor = Math.pow(10, digits);
    var scaled = Math.abs(x) * factor;
    var rounded = Math.round(scaled);  // on the absolute value: halves go away from zero
    return (x < 0 ? -rounded : rounded) / factor;
  }

  var FUNCTIONS = {
    SUM: function (args, values) {
      var ns = numbersOf(args, values);
      if (isErr(ns)) { return ns; }
      var total = 0;
      for (var i = 0; i < ns.length; i++) { total += ns[i]; }
      return total;
    },
    AVERAGE: function (args, values) {
      var ns = numbersOf(args, values);
      if (isErr(ns)) { return ns; }
      if (!ns.length) { return err("#DIV/0!"); }
      var total = 0;
      for (var i = 0; i < ns.length; i++) { total += ns[i]; }
      return total / ns.length;
    },
    MIN: function (args, values) {
      var ns = numbersOf(args, values);
      if (isErr(ns)) { return ns; }
      return ns.length ? Math.min.apply(null, ns) : 0;
    },
    MAX: function (args, values) {
      var ns = numbersOf(args, values);
      if (isErr(ns)) { return ns; }
      return ns.length ? Math.max.apply(null, ns) : 0;
    },
    ABS: function (args, values) {
      var x = toNumber(evalNode(args[0], values));
      return isErr(x) ? x : Math.abs(x);
    },
    ROUND: function (args, values) {
      var x = toNumber(evalNode(args[0], values));
      var d = args.length > 1 ? toNumber(evalNode(args[1], values)) : 0;
      if (isErr(x)) { return x; }
      if (isErr(d)) { return d; }
      return roundHalfAway(x, Math.trunc(d));
    },
    IF: function (args, values) {
      var test = toBool(evalNode(args[0], values));
      if (isErr(test)) { return test; }
      if (test) { return args.length > 1 ? evalNode(args[1], values) : true; }
      return args.length > 2 ? evalNode(args[2], values) : false;
    },
    IFERROR: function (args, values) {
      var v = evalNode(args[0], values);
      return isErr(v) ? evalNode(args[1], values) : v;
    },
    AND: function (args, values) {
      for (var i = 0; i < args.length; i++) {
        var b = toBool(evalNode(args[i], values));
        if (isErr(b)) { return b; }
        if (!b) { return false; }
      }
      return true;
    },
    OR: function (args, values) {
      for (var i = 0; i < args.length; i++) {
        var b = toBool(evalNode(args[i], values));
        if (isErr(b)) { return b; }
        if (b) { return true; }
      }
      return false;
    },
    NOT: function (args, values) {
      var b = toBool(evalNode(args[0], values));
      return isErr(b) ? b : !b;
    }
  };

  function evalNode(node, values) {
    switch (node[0]) {
      case "n": case "s": case "b": return node[1];
      case "r": {
        var v = values[node[1]];
        return v === undefined ? null : v;
      }
      case "g": return err("#VALUE!");  // a range outside SUM and friends
      case "u": {
        var x = toNumber(evalNode(node[2], values));
        if (isErr(x)) { return x; }
        return node[1] === "-" ? -x : x;
      }
      case "p": {
        var y = toNumber(evalNode(node[1], values));
        return isErr(y) ? y : y / 100;
      }
      case "o": {
        var a = evalNode(node[2], values), b = evalNode(node[3], values);
        if (node[1] === "&") {
          if (isErr(a)) { return a; }
          if (isErr(b)) { return b; }
          return toText(a) + toText(b);
        }
        if ("+-*/^".indexOf(node[1]) >= 0) { return arithmetic(node[1], a, b); }
        return compare(node[1], a, b);
      }
      case "f": {
        var fn = FUNCTIONS[node[1]];
        return fn ? fn(node[2], values) : err("#NAME?");
      }
    }
    return err("#VALUE!");
  }

  // Every cell's value: constants, then formulas in dependency order. ``overrides`` (cell ->
  // number) replace a constant or a formula, as a changed assumption does.
  function evaluate(model, overrides) {
    var values = {}, cell;
    overrides = overrides || {};
    for (cell in model.values) {
      if (Object.prototype.hasOwnProperty.call(model.values, cell)) {
        values[cell] = model.values[cell];
      }
    }
    for (cell in overrides) {
      if (Object.prototype.hasOwnProperty.call(overrides, cell)) { values[cell] = overrides[cell]; }
    }
    for (var i = 0; i < model.order.length; i++) {
      cell = model.order[i];
      if (!Object.prototype.hasOwnProperty.call(overrides, cell)) {
        values[cell] = evalNode(model.formulas[cell], values);
      }
    }
    return values;
  }

  function plainNumber(v) { return typeof v === "number" && isFinite(v) ? v : null; }

  // The cells to override for one scenario: its fixed overrides (a single-scenario sheet run
  // with this scenario's assumptions), then the viewer's edits (assumption index -> value).
  function scenarioOverrides(spec, scenario, edits) {
    var overrides = {}, key;
    for (key in scenario.overrides) {
      if (Object.prototype.hasOwnProperty.call(scenario.overrides, key)) {
        overrides[key] = scenario.overrides[key];
      }
    }
    edits = edits || {};
    for (key in edits) {
      if (Object.prototype.hasOwnProperty.call(edits, key)) {
        overrides[spec.assumptions[Number(key)].cells[scenario.name]] = edits[key];
      }
    }
    return overrides;
  }

  // Projections of every output for every scenario: {scenario: {output: [value per period]}}.
  // ``edits`` is {scenario: {assumption index: value}}.
  function project(spec, edits) {
    var result = {};
    edits = edits || {};
    for (var s = 0; s < spec.scenarios.length; s++) {
      var scenario = spec.scenarios[s];
      var values = evaluate(spec.model, scenarioOverrides(spec, scenario, edits[scenario.name]));
      var series = {};
      for (var o = 0; o < spec.outputs.length; o++) {
        var cells = spec.outputs[o].cells[scenario.name] || [];
        var row = [];
        for (var c = 0; c < cells.length; c++) { row.push(plainNumber(values[cells[c]])); }
        series[spec.outputs[o].name] = row;
      }
      result[scenario.name] = series;
    }
    return result;
  }

  function lastOf(row) { return row && row.length ? row[row.length - 1] : null; }

  function findScenario(spec, name) {
    for (var s = 0; s < spec.scenarios.length; s++) {
      if (spec.scenarios[s].name === name) { return spec.scenarios[s]; }
    }
    return null;
  }

  // Each assumption of one scenario moved by -step and +step in turn (step 0.1 = 10 %), and the
  // output at the horizon each time: [{assumption, value, low, high}], plus the unmoved result.
  function sensitivity(spec, scenarioName, outputName, step, edits) {
    var scenario = findScenario(spec, scenarioName);
    var output = null;
    for (var o = 0; o < spec.outputs.length; o++) {
      if (spec.outputs[o].name === outputName) { output = spec.outputs[o]; }
    }
    if (!scenario || !output) { return null; }
    var cells = output.cells[scenario.name] || [];
    var horizonCell = cells[cells.length - 1];
    var baseOverrides = scenarioOverrides(spec, scenario, edits);
    var values = evaluate(spec.model, baseOverrides);
    var rows = [];
    for (var a = 0; a < spec.assumptions.length; a++) {
      var cell = spec.assumptions[a].cells[scenario.name];
      var value = toNumber(values[cell]);
      if (isErr(value)) { value = 0; }
      var moved = [];
      for (var k = -1; k <= 1; k += 2) {
        var overrides = {};
        for (var key in baseOverrides) {
          if (Object.prototype.hasOwnProperty.call(baseOverrides, key)) {
            overrides[key] = baseOverrides[key];
          }
        }
        overrides[cell] = value * (1 + k * step);
        moved.push(plainNumber(evaluate(spec.model, overrides)[horizonCell]));
      }
      rows.push({ assumption: spec.assumptions[a].name, value: value, low: moved[0], high: moved[1] });
    }
    return { scenario: scenario.name, output: output.name, base: plainNumber(values[horizonCell]),
             step: step, rows: rows };
  }

  // Fixed-point text with thousands separators, as the server writes it (Python's ",.Nf").
  function formatNumber(v, decimals) {
    if (typeof v !== "number" || !isFinite(v)) { return "—"; }
    var text = Math.abs(v).toFixed(decimals);
    var parts = text.split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var negative = v < 0 && Number(text) !== 0;
    return (negative ? "-" : "") + whole + (parts.length > 1 ? "." + parts[1] : "");
  }

  // One entry point for the embedded engine: JSON in, JSON out.
  function run(requestText) {
    var request = JSON.parse(requestText);
    var spec = request.spec;
    var answer = { projections: project(spec, request.edits || {}) };
    if (request.sensitivity) {
      var s = request.sensitivity;
      answer.sensitivity = sensitivity(
        spec, s.scenario, s.output, s.step, (request.edits || {})[s.scenario]
      );
    }
    if (request.evaluate) { answer.values = evaluate(spec.model, request.evaluate.overrides || {}); }
    return JSON.stringify(answer);
  }

  root.SitewrightScenario = {
    evaluate: evaluate,
    project: project,
    sensitivity: sensitivity,
    formatNumber: formatNumber,
    run: run
  };
})(typeof window !== "undefined" ? window : globalThis);
