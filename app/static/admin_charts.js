// Draws the charts of the admin usage and signals pages from the JSON the server put in the page.
// No inline script: each div.admin-plot names the <script type="application/json"> with its figure.
(function () {
  "use strict";
  function draw() {
    if (!window.Plotly) { return; }
    var plots = document.querySelectorAll("div.admin-plot[data-figure]");
    for (var i = 0; i < plots.length; i++) {
      var el = plots[i];
      var data = document.getElementById(el.getAttribute("data-figure"));
      if (!data) { continue; }
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
