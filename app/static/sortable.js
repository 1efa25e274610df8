// Sortable tables on site pages, as progressive enhancement over a real <table data-sortable>:
// without this script the table reads as served. Each <th data-sort-type="date|text|number">
// gets a button (keyboard: Tab, then Enter or Space); pressing it sorts the rows by that column,
// ascending then descending, sets aria-sort on the header and says the new order in a polite
// live region. Cells may carry data-sort-value (dates as YYYY-MM-DD); others sort by their text.
// Empty cells stay last. Loaded from the page (script-src 'self'), never inline.
(function () {
  "use strict";

  function keyOf(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var value = cell.getAttribute("data-sort-value");
    return (value === null ? cell.textContent : value).replace(/\s+/g, " ").trim();
  }

  function compare(a, b, type) {
    if (type === "number") {
      var x = parseFloat(a.replace(/,/g, ""));
      var y = parseFloat(b.replace(/,/g, ""));
      if (!isNaN(x) && !isNaN(y)) { return x - y; }
    }
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function sortBy(table, headers, header, index, status) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var type = header.getAttribute("data-sort-type") || "text";
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (row, position) {
      return { row: row, key: keyOf(row, index), position: position };
    });
    rows.sort(function (a, b) {
      if (a.key === "" || b.key === "") {
        return a.key === b.key ? a.position - b.position : (a.key === "" ? 1 : -1);
      }
      var order = compare(a.key, b.key, type);
      return (ascending ? order : -order) || a.position - b.position;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    status.textContent = "Sorted by " + header.textContent.trim() + ", " +
      (ascending ? "ascending" : "descending") + ".";
  }

  function enhance(table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    table.parentNode.insertBefore(status, table.nextSibling);
    headers.forEach(function (header, index) {
      if (!header.hasAttribute("data-sort-type")) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (header.firstChild) { button.appendChild(header.firstChild); }
      header.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(table, headers, header, index, status);
      });
    });
    table.setAttribute("data-sortable-ready", "true");
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
