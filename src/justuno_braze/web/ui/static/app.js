/* justuno-braze UI: small progressive enhancements only — every form works without JS.
 *
 * - <form data-confirm="Disconnect Braze?">: asks confirm() before submitting.
 *   (Also on a submit <button data-confirm="…">: asks only when that button submits.)
 * - The first invalid field (aria-invalid="true") gets focus when the page loads, or the
 *   error summary ([data-error-summary]) when there is no such field.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) ||
      form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  function focusFirstProblem() {
    var invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid) {
      invalid.focus();
      return;
    }
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusFirstProblem);
  } else {
    focusFirstProblem();
  }
})();
