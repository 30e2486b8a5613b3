// Deliveries: a "select all on this page" box in the dead letters' table header.
// Only an enhancement: without JavaScript, tick the rows or use "Replay all".
(function () {
  "use strict";
  var table = document.getElementById("ids");
  if (!table) return;
  var header = table.querySelector("thead th");
  var boxes = Array.prototype.slice.call(
    table.querySelectorAll('tbody input[type="checkbox"][name="ids"]')
  );
  if (!header || boxes.length === 0) return;

  var all = document.createElement("input");
  all.type = "checkbox";
  all.id = "select-all";
  all.setAttribute("aria-label", "Select every dead letter on this page");
  header.appendChild(all);

  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  table.addEventListener("change", function (event) {
    if (event.target === all) return;
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  });
})();
