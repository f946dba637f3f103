// Sortable tables: every list table (<table class="grid"> with a <thead>) gets a button in each column heading that sorts the
// rows on this page by that column (numbers and dates as such, text in Chinese collation), again to reverse.
// The page's own order (the server's) comes back on reload; paging stays the server's (下一页).
(function () {
  "use strict";
  var collator = new Intl.Collator(["zh-CN", "en"], { numeric: true });

  function key(cell) {
    var text = (cell.dataset.sort || cell.textContent).trim();
    var number = text.replace(/[,\s]/g, "");
    if (/^-?\d+(\.\d+)?$/.test(number)) { return { n: parseFloat(number) }; }
    return { t: text };
  }

  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) { return a.n - b.n; }
    if (a.n !== undefined) { return -1; }
    if (b.n !== undefined) { return 1; }
    return collator.compare(a.t, b.t);
  }

  function sortBy(table, index, heading) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > index; });
    if (rows.length < 2) { return; }
    var ascending = heading.getAttribute("aria-sort") !== "ascending";
    rows.sort(function (r1, r2) {
      var c = compare(key(r1.cells[index]), key(r2.cells[index]));
      return ascending ? c : -c;
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (r) { body.appendChild(r); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.grid"), function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      if (!th.textContent.trim()) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () { sortBy(table, index, th); });
    });
  });
})();
