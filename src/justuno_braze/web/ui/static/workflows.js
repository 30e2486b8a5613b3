/* The workflow editor's enhancements; without JS every button still works (the server
 * adds or removes a row and re-renders the form).
 *
 * - [data-add-row="conditions|mappings"]: clones <template id="<kind>-template"> (its
 *   "__i__" becomes the next free row number) instead of a round trip.
 * - [data-remove-row]: removes its row ([data-row]) in place.
 * - A mapping's "New attribute name" box shows only when "New attribute" is picked; the
 *   "External id property" box only with "By external id". A box that holds text or an
 *   error always shows.
 * - Choosing another Braze connection re-renders Sync Another Property for it: the form is
 *   posted as its [data-show-attributes] button would (the server re-renders it, saving
 *   nothing) and the returned #mappings replaces this one, so picks are kept or marked by
 *   the same code as without JS. If that fails, the button is pressed (a full re-render).
 */
(function () {
  "use strict";

  var NEW_TARGET = "__new__";

  function fieldOf(input) {
    return input ? input.closest(".field") : null;
  }

  function keepVisible(input) {
    return input.value.trim() !== "" || input.getAttribute("aria-invalid") === "true";
  }

  function syncNewTarget(select) {
    var row = select.closest("[data-row]");
    var box = row ? row.querySelector("[data-new-target]") : null;
    var field = fieldOf(box);
    if (!field) return;
    field.hidden = select.value !== NEW_TARGET && !keepVisible(box);
  }

  function syncExternalId() {
    var select = document.getElementById("identify_by");
    var box = document.getElementById("external_id_property");
    var field = fieldOf(box);
    if (!select || !field) return;
    field.hidden = select.value !== "external_id" && !keepVisible(box);
  }

  function renumber(container) {
    var numbers = container.querySelectorAll("[data-row] [data-row-number]");
    for (var i = 0; i < numbers.length; i++) numbers[i].textContent = String(i + 1);
  }

  function nextIndex(container, kind) {
    var pattern = new RegExp("^" + kind + "-(\\d+)-");
    var next = 0;
    var inputs = container.querySelectorAll("[name]");
    for (var i = 0; i < inputs.length; i++) {
      var match = pattern.exec(inputs[i].name);
      if (match) next = Math.max(next, Number(match[1]) + 1);
    }
    return next;
  }

  function addRow(button) {
    var kind = button.getAttribute("data-add-row");
    var container = document.querySelector('[data-rows="' + kind + '"]');
    var template = document.getElementById(kind + "-template");
    if (!container || !template) return false;
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.split("__i__").join(String(nextIndex(container, kind)));
    var row = holder.firstElementChild;
    if (!row) return false;
    container.appendChild(row);
    var note = button.closest("fieldset").querySelector("[data-empty-note]");
    if (note) note.hidden = true;
    renumber(container);
    var select = row.querySelector("[data-target-select]");
    if (select) syncNewTarget(select);
    var first = row.querySelector("input, select");
    if (first) first.focus();
    return true;
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("button") : null;
    if (!button) return;
    if (button.hasAttribute("data-add-row")) {
      if (addRow(button)) event.preventDefault();
    } else if (button.hasAttribute("data-remove-row")) {
      var row = button.closest("[data-row]");
      var container = row ? row.parentElement : null;
      if (!row || !container) return;
      event.preventDefault();
      row.remove();
      renumber(container);
    }
  });

  function syncAllTargets() {
    var selects = document.querySelectorAll("[data-target-select]");
    for (var i = 0; i < selects.length; i++) syncNewTarget(selects[i]);
  }

  var pendingConnection = null;

  // The mapping rows as posted: a re-render made from other rows would drop an edit.
  function mappingState(form) {
    var out = [];
    new FormData(form).forEach(function (value, name) {
      if (name.indexOf("mappings-") === 0) out.push(name + "=" + String(value));
    });
    return out.join("&");
  }

  function showConnection(form) {
    var button = form.querySelector("[data-show-attributes]");
    if (!button || !window.fetch || !document.getElementById("mappings")) return;
    var body = new URLSearchParams(new FormData(form));
    body.set(button.name, button.value);
    var sent = mappingState(form);
    var request = {};
    pendingConnection = request;
    // getAttribute: form.action is the buttons named "action", not the URL
    var url = form.getAttribute("action") || window.location.href;
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (pendingConnection !== request) return;  // a later request is on its way
        if (mappingState(form) !== sent) return showConnection(form);  // edited meanwhile
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("mappings");
        var mappings = document.getElementById("mappings");
        if (!fresh || !mappings) throw new Error("no #mappings to replace");
        var focused = mappings.contains(document.activeElement) ? document.activeElement.id : "";
        mappings.replaceWith(document.importNode(fresh, true));
        syncAllTargets();
        var again = focused ? document.getElementById(focused) : null;
        if (again) again.focus();
      })
      .catch(function () {
        if (pendingConnection === request) button.click();
      });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLSelectElement)) return;
    if (target.hasAttribute("data-target-select")) syncNewTarget(target);
    if (target.id === "identify_by") syncExternalId();
    if (target.id === "connection" && target.form) showConnection(target.form);
  });

  function init() {
    syncAllTargets();
    syncExternalId();
    var button = document.querySelector("[data-show-attributes]");
    if (button && window.fetch) button.closest(".actions").hidden = true;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
