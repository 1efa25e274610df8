// Draws every chart on a site page from the JSON the server computed. No inline script needed.
//
// Charts take their look from the page: a plotly layout template built from the stylesheet's
// --chart-* custom properties (transparent background, the page's text and line colours), so
// they follow light and dark mode and print on white. Each chart follows its container's size.
// A colour in the figure may name a custom property ("var(--green)"): it is looked up in the
// stylesheet each time the chart is drawn, so status colours follow the page as well.
(function () {
  "use strict";
  var Plotly = window.Plotly;
  var PRINT_WIDTH = 680; // px: the printable width of A4 and Letter with ~15 mm margins
  var PRINT_HEIGHT = 300; // px: three charts to a page
  var TITLE_SIZE = 15;
  var LINE_HEIGHT = Math.round(TITLE_SIZE * 1.3);
  var dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var coarse = window.matchMedia ? window.matchMedia("(pointer: coarse)").matches : false;
  var CSS_VAR = /^var\((--[a-z0-9-]+)\)$/;
  var charts = [];
  var template = null;
  var colour = null; // custom property name -> colour of the palette in use
  var printing = false;

  // The light palette, for paper: read from an element that carries it whatever the screen does.
  var probe = null;
  function lightStyle() {
    if (!probe) {
      probe = document.createElement("div");
      probe.className = "palette-light";
      probe.hidden = true;
      document.body.appendChild(probe);
    }
    var style = window.getComputedStyle(probe);
    var values = {};
    return function (name) {
      if (!(name in values)) { values[name] = style.getPropertyValue(name).trim(); }
      return values[name];
    };
  }

  // The figure's data and layout with every "var(--name)" colour looked up.
  function resolved(part) {
    if (!part) { return part; }
    return JSON.parse(JSON.stringify(part), function (key, value) {
      var match = typeof value === "string" && CSS_VAR.exec(value);
      return match ? colour(match[1]) || value : value;
    });
  }

  function theme(forPaper) {
    var style = window.getComputedStyle(document.documentElement);
    var v = forPaper ? lightStyle() : function (name) {
      return style.getPropertyValue(name).trim();
    };
    colour = v;
    var text = v("--chart-text");
    var axis = v("--chart-axis");
    var colours = [];
    for (var i = 1; i <= 8; i++) { colours.push(v("--chart-" + i)); }
    var font = window.getComputedStyle(document.body).fontFamily;
    var axisStyle = {
      gridcolor: v("--chart-grid"), linecolor: axis, zerolinecolor: axis, tickcolor: axis,
      automargin: true, title: { standoff: 10, font: { size: 12 } }
    };
    return {
      layout: {
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "rgba(0,0,0,0)",
        font: { family: font, color: text, size: 12 },
        title: {
          font: { color: v("--chart-title"), size: TITLE_SIZE, weight: 600 },
          x: 0, xref: "container", xanchor: "left",
          y: 1, yref: "container", yanchor: "top", pad: { l: 4, t: 14 }
        },
        colorway: colours,
        xaxis: Object.assign({}, axisStyle, { showgrid: false, showline: true }),
        yaxis: axisStyle,
        legend: { font: { color: text } },
        hoverlabel: {
          bgcolor: v("--chart-paper"), bordercolor: axis,
          font: { color: v("--chart-title"), family: font }
        }
      }
    };
  }

  // plotly does not wrap titles: break a long one into lines that fit the width, and make
  // room for the extra lines above the plot.
  function wrapTitle(layout, width) {
    var title = layout.title;
    var text = title && (typeof title === "string" ? title : title.text);
    if (!text || !width) { return; }
    var perLine = Math.max(12, Math.floor((width - 16) / (TITLE_SIZE * 0.56)));
    var lines = [];
    text.split(" ").forEach(function (word) {
      var last = lines.length - 1;
      if (last >= 0 && (lines[last] + " " + word).length <= perLine) {
        lines[last] += " " + word;
      } else {
        lines.push(word);
      }
    });
    layout.title = Object.assign({}, typeof title === "string" ? {} : title,
      { text: lines.join("<br>") });
    var extra = (lines.length - 1) * LINE_HEIGHT;
    if (extra) {
      layout.margin = Object.assign({ t: 50 }, layout.margin);
      layout.margin.t += extra;
      if (layout.height) { layout.height += extra; }
    }
  }

  function layoutFor(chart, width) {
    var layout = Object.assign({}, resolved(chart.figure.layout), { template: template });
    if (coarse) { layout.dragmode = false; } // a finger scrolls the page, not the chart
    if (width) { layout.width = width; }
    if (printing) { layout.height = PRINT_HEIGHT; }
    wrapTitle(layout, width || chart.el.clientWidth);
    return layout;
  }

  function titleOf(layout) {
    return layout.title && layout.title.text;
  }

  // Draw again with the current template and width (colour scheme changed, print, new lines).
  // Traces a page script added since (what-if) are kept; a figure whose colours name custom
  // properties is drawn again from its JSON instead, with the colours looked up anew.
  function redraw(chart, width) {
    var data = chart.named ? resolved(chart.figure.data) : chart.el.data;
    return Plotly.react(chart.el, data, layoutFor(chart, width)).then(function () {
      if (!width) { Plotly.Plots.resize(chart.el); }
    });
  }

  function resized(chart) {
    if (printing || !chart || chart.el.getAttribute("data-drawn") !== "true") { return; }
    if (titleOf(layoutFor(chart)) !== titleOf(chart.el.layout)) {
      redraw(chart);
    } else {
      Plotly.Plots.resize(chart.el);
    }
  }

  // Charts follow their container: grid columns, a phone turned, the annotate panel opening.
  var pending = new Set();
  var scheduled = false;
  var observer = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (entry) { pending.add(entry.target.sitewrightChart); });
    if (scheduled) { return; }
    scheduled = true;
    window.requestAnimationFrame(function () {
      scheduled = false;
      pending.forEach(resized);
      pending.clear();
    });
  }) : null;

  // Paper: the light palette at the printable width; back to the screen afterwards.
  function forPrint(on) {
    printing = on;
    template = theme(on);
    charts.forEach(function (chart) { redraw(chart, on ? PRINT_WIDTH : 0); });
  }

  function start() {
    if (template) { return; }
    template = theme(false);
    if (!observer) {
      window.addEventListener("resize", function () { charts.forEach(resized); });
    }
    if (dark && dark.addEventListener) {
      dark.addEventListener("change", function () {
        template = theme(false);
        charts.forEach(function (chart) { redraw(chart); });
      });
    }
    window.addEventListener("beforeprint", function () { forPrint(true); });
    window.addEventListener("afterprint", function () { forPrint(false); });
  }

  // Draw a figure into an element and keep it styled and sized like the page; marks the
  // element data-drawn. A template's own page script calls it as SitewrightCharts.draw for the
  // figures it draws itself (the scenario planner's what-if), so every chart looks the same.
  function drawChart(el, figure) {
    if (!Plotly) { return Promise.reject(new Error("plotly.js is not loaded")); }
    start();
    var chart = { el: el, figure: figure, named: JSON.stringify(figure).indexOf("var(--") >= 0 };
    el.sitewrightChart = chart;
    charts.push(chart);
    if (observer) { observer.observe(el); }
    return Plotly.newPlot(el, resolved(figure.data), layoutFor(chart), {
      displayModeBar: false, displaylogo: false, responsive: false
    }).then(function () {
      el.setAttribute("data-drawn", "true");
      return el;
    });
  }

  function drawAll() {
    var plots = document.querySelectorAll("div.plot[data-figure]");
    if (!plots.length) { return; }
    if (!Plotly) {
      console.error("Sitewright: plotly.js did not load; each chart is described in text.");
      return;
    }
    Array.prototype.forEach.call(plots, function (el) {
      var data = document.getElementById(el.getAttribute("data-figure"));
      if (data) { drawChart(el, JSON.parse(data.textContent)); }
    });
  }

  window.SitewrightCharts = { draw: drawChart };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
