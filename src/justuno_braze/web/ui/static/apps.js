/* Apps pages, progressive enhancement only (every form works without this file):
 * - the catalog filters as you type: it asks the server for the same page with ?q= and
 *   swaps the results in, so the matching rules live in one place (services.apps);
 * - the Braze connect form shows the "Other URL" field only when the endpoint picker
 *   says "Other URL" (a hidden field is disabled, so it is not submitted). */
(function () {
  "use strict";

  function catalogSearch(form) {
    var input = form.querySelector("input[name=q]");
    var results = document.getElementById("apps-results");
    var counter = document.getElementById("apps-count");
    if (!input || !results || !window.fetch || !window.DOMParser) return;
    var timer = null;
    var latest = 0;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var url = form.getAttribute("action") + "?q=" + encodeURIComponent(input.value);
        var ticket = ++latest;
        window.fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) {
            if (html === null || ticket !== latest) return;
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById("apps-results");
            var count = doc.getElementById("apps-count");
            if (!fresh) return;
            results.innerHTML = fresh.innerHTML;
            // the live region stays in place; only its words change, so it is announced
            if (count && counter) counter.textContent = count.textContent;
            window.history.replaceState(null, "", input.value ? url : form.getAttribute("action"));
          })
          .catch(function () { /* the Search button still works */ });
      }, 200);
    });
  }

  function endpointPicker(form) {
    var picker = form.querySelector("select[name=instance]");
    var other = form.querySelector("input[name=other_url]");
    if (!picker || !other) return;
    var wrapper = other.closest(".field") || other.parentNode;
    function sync() {
      // a typed value stays visible (and sent): the server says if it conflicts
      var show = picker.value === "other" || other.value !== "";
      wrapper.hidden = !show;
      other.disabled = !show;
    }
    picker.addEventListener("change", sync);
    sync();
  }

  document.querySelectorAll("[data-apps-search]").forEach(catalogSearch);
  document.querySelectorAll("[data-endpoint-picker]").forEach(endpointPicker);
})();
