// Draws every chart on a site page from the JSON the server computed. No inline script needed.
(function () {
  "use strict";
  function draw() {
    var plots = document.querySelectorAll("div.plot[data-figure]");
    for (var i = 0; i < plots.length; i++) {
      var el = plots[i];
      var data = document.getElementById(el.getAttribute("data-figure"));
      if (!data || !window.Plotly) { continue; }
      var figure = JSON.parse(data.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, {
        displayModeBar: false, responsive: true
      });
      el.setAttribute("data-drawn", "true");
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
