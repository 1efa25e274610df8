// The scenario planner page: draws its charts and runs the what-if panel.
//
// Every recomputation goes through SitewrightScenario (scenario_model.js), the evaluator the
// server ran to write the page's numbers. Nothing is sent anywhere and nothing is saved.
(function () {
  "use strict";

  var model = window.SitewrightScenario;
  var plots = {};  // figure element id -> {el, traces}

  function drawCharts() {
    var els = document.querySelectorAll("div.sp-plot[data-sp-figure]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var data = document.getElementById(el.getAttribute("data-sp-figure"));
      if (!data || !window.Plotly) { continue; }
      var figure = JSON.parse(data.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, {
        displayModeBar: false, responsive: true
      });
      el.setAttribute("data-drawn", "true");
      plots[el.getAttribute("data-sp-figure")] = { el: el, traces: figure.data.length };
    }
  }

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  }

  function whatIf(config) {
    var spec = config.spec;
    var decimals = config.decimals;
    var panel = document.getElementById("sp-whatif");
    var select = document.getElementById("sp-whatif-scenario");
    var reset = document.getElementById("sp-whatif-reset");
    var inputs = panel.querySelectorAll("input[data-assumption]");
    var edits = {};  // scenario -> {assumption index -> value}
    var saved = model.project(spec, {});

    function current() { return select.value; }

    function fill() {
      var scenario = current();
      var mine = edits[scenario] || {};
      for (var i = 0; i < inputs.length; i++) {
        var index = inputs[i].getAttribute("data-assumption");
        var value = Object.prototype.hasOwnProperty.call(mine, index)
          ? String(mine[index]) : config.inputs[scenario][Number(index)];
        inputs[i].value = value;
        inputs[i].removeAttribute("aria-invalid");
        setText("sp-saved-" + index, config.texts[scenario][Number(index)]);
      }
      setText("sp-whatif-caption", scenario);
    }

    function read() {
      var scenario = current();
      var mine = {};
      var ok = true;
      for (var i = 0; i < inputs.length; i++) {
        var index = inputs[i].getAttribute("data-assumption");
        var text = inputs[i].value.trim();
        var value = Number(text);
        if (text === "" || !isFinite(value)) {
          inputs[i].setAttribute("aria-invalid", "true");
          ok = false;
          continue;
        }
        inputs[i].removeAttribute("aria-invalid");
        if (String(value) !== String(Number(config.inputs[scenario][Number(index)]))) {
          mine[index] = value;
        }
      }
      if (Object.keys(mine).length) { edits[scenario] = mine; } else { delete edits[scenario]; }
      return ok;
    }

    function redrawCharts(scenario, projected) {
      var changed = Object.prototype.hasOwnProperty.call(edits, scenario);
      for (var o = 0; o < spec.outputs.length; o++) {
        var plot = plots["sp-figure-" + o];
        if (!plot || !window.Plotly) { continue; }
        var extra = plot.el.data.length > plot.traces;
        if (extra) { window.Plotly.deleteTraces(plot.el, plot.traces); }
        if (!changed) { continue; }
        var name = spec.outputs[o].name;
        var base = plot.el.data[spec.scenarios.map(function (s) { return s.name; }).indexOf(scenario)];
        window.Plotly.addTraces(plot.el, {
          x: base ? base.x : projected[scenario][name].map(function (_, i) { return i + 1; }),
          y: projected[scenario][name],
          name: scenario + " (what-if)",
          mode: "lines+markers",
          line: { dash: "dash" }
        });
      }
    }

    function recompute() {
      var ok = read();
      var scenario = current();
      var projected = model.project(spec, edits);
      var changed = Object.prototype.hasOwnProperty.call(edits, scenario);
      for (var o = 0; o < spec.outputs.length; o++) {
        var name = spec.outputs[o].name;
        var before = saved[scenario][name];
        var after = projected[scenario][name];
        var last = before[before.length - 1], now = after[after.length - 1];
        setText("sp-result-saved-" + o, model.formatNumber(last, decimals));
        setText("sp-result-value-" + o, model.formatNumber(now, decimals));
        var diff = (typeof now === "number" && typeof last === "number") ? now - last : null;
        setText("sp-result-change-" + o, !changed || diff === null ? "—"
          : (diff >= 0 ? "+" : "") + model.formatNumber(diff, decimals));
      }
      redrawCharts(scenario, projected);
      setText("sp-whatif-status", !ok ? "Some values are not numbers: they are left out until corrected."
        : (changed ? "Showing a what-if for " + scenario + ": not saved." : "Showing the saved values."));
    }

    select.addEventListener("change", function () { fill(); recompute(); });
    for (var i = 0; i < inputs.length; i++) {
      inputs[i].addEventListener("input", recompute);
      inputs[i].addEventListener("change", recompute);
    }
    reset.addEventListener("click", function () {
      edits = {};
      fill();
      recompute();
    });
    panel.hidden = false;
    fill();
    recompute();
  }

  function start() {
    drawCharts();
    var data = document.getElementById("sp-model");
    if (data && model) { whatIf(JSON.parse(data.textContent)); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
