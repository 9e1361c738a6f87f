/* The book's long tables (run index, every file, the full accountings): sortable, filterable and paged with the
   vendored simple-datatables library (_static/vendor/simple-datatables, LGPL-3.0, unmodified). A table is marked by
   pemn.report.display.show_table(..., sortable=True), which wraps it in a container of class pemn-datatable.
   Without JavaScript the full table stays on the page. */
document.addEventListener("DOMContentLoaded", function () {
  var lib = window.simpleDatatables;
  if (!lib) { console.warn("pemn-tables: simple-datatables is not loaded"); return; }
  document.querySelectorAll(".pemn-datatable table").forEach(function (table) {
    var rows = table.tBodies.length ? table.tBodies[0].rows.length : 0;
    new lib.DataTable(table, {
      searchable: true,
      sortable: true,
      paging: rows > 15,
      perPage: 15,
      perPageSelect: [15, 50, 100, ["all", -1]],
      fixedHeight: false,
      labels: {placeholder: "Filter rows…", searchTitle: "Filter the rows of this table", perPage: "rows per page",
               noRows: "No rows", noResults: "No row matches the filter", info: "Rows {start} to {end} of {rows}"}
    });
  });
});
