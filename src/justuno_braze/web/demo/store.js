// The demo pop-up: builds a canonical Justuno form_submitted event and posts it with the
// page's PUBLIC design key (never the account's ingest token).
(() => {
  const form = document.getElementById("lead-form"), offer = document.getElementById("offer");
  const opener = document.getElementById("open-offer"), status = document.getElementById("form-status");
  const show = (open) => { offer.hidden = !open; (open ? form.email : opener).focus(); };
  opener.addEventListener("click", () => show(true));
  document.getElementById("close-offer").addEventListener("click", () => show(false));
  offer.addEventListener("keydown", (e) => { if (e.key === "Escape") show(false); });
  const visitor = () => {
    let id = localStorage.getItem("jb_visitor_id");
    if (!id) { id = "jv_" + crypto.randomUUID().replaceAll("-", ""); localStorage.setItem("jb_visitor_id", id); }
    return id;
  };
  const fieldError = (name, message) => {
    const input = form.elements[name], out = document.getElementById(name + "-error");
    if (!input || !out) return false;
    out.textContent = message; input.setAttribute("aria-invalid", message ? "true" : "false");
    return true;
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ["email", "sms", "first_name"].forEach((n) => fieldError(n, ""));
    status.textContent = "";
    const email = form.email.value.trim();
    if (!email || !form.email.checkValidity()) { fieldError("email", "Enter a valid email address."); form.email.focus(); return; }
    const properties = { email, first_name: form.first_name.value.trim() };
    if (form.sms.value.trim()) properties.sms = form.sms.value.trim();
    const event = {
      type: "form_submitted", visitor_id: visitor(), design_id: form.dataset.design,
      page_url: location.href, properties,
      consent: { sms: form.sms_consent.checked },  // the design has the box: unticked is an explicit no
      consent_text: document.getElementById("consent-text").textContent.trim(),
    };
    try {
      const r = await fetch(`/api/v1/accounts/${encodeURIComponent(form.dataset.account)}/events`, {
        method: "POST", body: JSON.stringify(event),
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${form.dataset.designKey}` },
      });
      if (r.ok) { status.textContent = "Thanks! Your code is on its way."; form.reset(); return; }
      const body = await r.json().catch(() => ({}));
      const problems = body.errors || [];
      problems.forEach((p) => fieldError(String(p.field).replace(/^properties\./, ""), p.message));
      status.textContent = body.message || `Something went wrong (${r.status}).`;
    } catch { status.textContent = "Could not reach the store. Check your connection and try again."; }
  });
})();
