// justuno-braze embed: a design's pop-up lead form on any page, no dependencies.
//
//   <script src="https://<host>/embed.js" data-account="demo" data-design="demo-popup" async></script>
//
// Fetches the design's public config (form + PUBLIC design key — never the ingest token)
// from the host that served this script, renders the pop-up in an open shadow root (its
// CSS cannot leak into the page nor the page's into it), and posts the visitor's canonical
// form_submitted event to the ingestion API with the design key. The pop-up opens from the
// page's own [data-jb-open="<design>"] buttons, or from a small teaser button when the page
// has none. A native modal <dialog>: focus moves in, the page behind is inert, Escape closes.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.dataset.account || !script.dataset.design) {
    console.warn("justuno-braze embed: data-account and data-design are required");
    return;
  }
  const { account, design } = script.dataset;
  const api = `${new URL(script.src).origin}/api/v1/accounts/${encodeURIComponent(account)}`;
  const configUrl = `${api}/designs/${encodeURIComponent(design)}/embed`;
  const OPENERS = `[data-jb-open="${CSS.escape(design)}"]`;

  // openers clicked before the config arrived open the pop-up once it is rendered
  let openPopup = null, pending = null;
  document.addEventListener("click", (e) => {
    const from = e.target instanceof Element ? e.target.closest(OPENERS) : null;
    if (!from) return;
    e.preventDefault();
    if (openPopup) openPopup(from); else pending = from;
  });

  const STYLE = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    .jb-teaser, .jb-dialog { font: 16px/1.5 system-ui, sans-serif; color: #1d1d1f; }
    .jb-teaser { position: fixed; left: 1rem; bottom: 1rem; z-index: 2147483000; }
    button { font: inherit; padding: .7rem 1.2rem; border: 0; border-radius: 8px;
             background: #2a5d4f; color: #fff; cursor: pointer; }
    button:focus-visible, input:focus-visible { outline: 3px solid #f0a202; outline-offset: 2px; }
    .jb-dialog { border: 0; border-radius: 12px; padding: 1.5rem; background: #fff;
                 width: min(26rem, calc(100vw - 2rem)); max-height: calc(100vh - 2rem);
                 overflow: auto; }
    .jb-dialog::backdrop { background: rgb(0 0 0 / .5); }
    .jb-close { float: right; background: transparent; color: #1d1d1f; padding: .2rem .6rem;
                font-size: 1.4rem; line-height: 1; }
    h2 { margin: 0 0 .5rem; font-size: 1.35rem; }
    p { margin: 0 0 1rem; }
    .jb-field { margin-bottom: .9rem; }
    label { display: block; font-weight: 600; }
    input[type=email], input[type=tel], input[type=text] { width: 100%; padding: .6rem;
      font: inherit; color: inherit; background: #fff; border: 1px solid #767676;
      border-radius: 6px; }
    input[aria-invalid=true] { border: 2px solid #b00020; }
    .jb-consent { display: flex; gap: .6rem; align-items: flex-start; font-weight: 400;
                  font-size: .9rem; }
    .jb-consent input { margin-top: .25rem; width: 1.2rem; height: 1.2rem; flex: none; }
    .jb-error { color: #b00020; margin: .2rem 0 0; font-size: .9rem; }
    .jb-error:empty { display: none; }
    .jb-error:not(:empty)::before { content: "⚠ " / ""; }  /* decorative: not read out */
    .jb-status { margin: .8rem 0 0; }
    [hidden] { display: none !important; }
  `;

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === true) node.setAttribute(name, "");
      else if (value !== false && value != null) node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  };

  const visitorId = (() => {
    let memory = null;
    return () => {
      try {
        let id = localStorage.getItem("jb_visitor_id");
        if (!id) { id = newVisitorId(); localStorage.setItem("jb_visitor_id", id); }
        return id;
      } catch {  // storage blocked: one id for this page view
        return (memory ||= newVisitorId());
      }
    };
  })();
  // getRandomValues works on plain-http pages too (randomUUID needs a secure context)
  function newVisitorId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return "jv_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function render(config) {
    const form = config.form, uid = `jb-${design}`;
    const host = el("div", { "data-jb-embed": design });
    const root = host.attachShadow({ mode: "open" });
    const inputs = {}, errors = {};
    const fieldRow = (f) => {
      const id = `${uid}-${f.name}`;
      inputs[f.name] = el("input", {
        id, name: f.name, type: f.type, autocomplete: f.autocomplete, required: f.required,
        "aria-describedby": `${id}-error`, "aria-invalid": "false",
      });
      errors[f.name] = el("p", { id: `${id}-error`, class: "jb-error" });
      const label = el("label", { for: id }, f.label + (f.required ? " (required)" : ""));
      return el("div", { class: "jb-field" }, label, inputs[f.name], errors[f.name]);
    };
    const consent = el("input", { id: `${uid}-consent`, name: "sms_consent", type: "checkbox" });
    const consentText = el("span", {}, form.consent_text);
    const status = el("p", { class: "jb-status", role: "status" });
    const submit = el("button", { type: "submit" }, form.submit);
    const formEl = el("form", { novalidate: true },
      ...form.fields.map(fieldRow),
      el("div", { class: "jb-field" },
        el("label", { class: "jb-consent", for: consent.id }, consent, consentText)),
      submit);
    const thanks = el("p", { hidden: true, tabindex: "-1" }, form.thanks);
    const close = el("button", { type: "button", class: "jb-close", "aria-label": "Close" }, "×");
    const dialog = el("dialog", { class: "jb-dialog", "aria-labelledby": `${uid}-title` },
      close, el("h2", { id: `${uid}-title` }, form.headline), el("p", {}, form.intro),
      formEl, thanks, status);
    const teaser = el("button", { type: "button", class: "jb-teaser", "aria-haspopup": "dialog", hidden: true },
      form.opener);
    root.append(el("style", {}, STYLE), teaser, dialog);
    document.body.append(host);

    let opener = null;
    const open = (from) => {
      opener = from;
      formEl.hidden = false; thanks.hidden = true; status.textContent = "";
      dialog.showModal();
      inputs[form.fields[0].name].focus();
    };
    openPopup = open;
    const shut = () => { if (dialog.open) dialog.close(); };
    dialog.addEventListener("close", () => { if (opener && opener.isConnected) opener.focus(); });
    close.addEventListener("click", shut);
    dialog.addEventListener("click", (e) => { if (e.target === dialog && outside(e)) shut(); });
    teaser.addEventListener("click", () => open(teaser));
    // the page's own opener buttons, if any, replace the teaser
    const placeTeaser = () => { teaser.hidden = document.querySelector(OPENERS) !== null; };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", placeTeaser);
    else placeTeaser();

    const setError = (name, message) => {
      const input = inputs[name], out = errors[name];
      if (!input || !out) return false;
      out.textContent = message;
      input.setAttribute("aria-invalid", message ? "true" : "false");
      return true;
    };
    const clearErrors = () => Object.keys(errors).forEach((n) => setError(n, ""));
    const checkFields = () => {
      const problems = {};
      for (const f of form.fields) {
        const input = inputs[f.name], value = input.value.trim();
        if (f.required && !value) problems[f.name] = `Enter your ${f.label.toLowerCase()}.`;
        else if (value && !input.checkValidity()) problems[f.name] = `Enter a valid ${f.label.toLowerCase()}.`;
      }
      if (consent.checked && inputs.sms && !inputs.sms.value.trim() && !problems.sms) {
        problems.sms = "Enter your phone number to get texts.";
      }
      return problems;
    };
    const showProblems = (problems) => {
      let first = null;
      for (const [name, message] of Object.entries(problems)) {
        if (setError(name, message) && !first) first = inputs[name];
      }
      if (first) first.focus();
      return first !== null;
    };

    formEl.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(); status.textContent = "";
      const problems = checkFields();
      if (Object.keys(problems).length) {
        showProblems(problems);
        status.textContent = "Please fix the highlighted fields.";
        return;
      }
      const properties = {};
      for (const f of form.fields) {
        const value = inputs[f.name].value.trim();
        if (value) properties[f.name] = value;
      }
      const event = {
        type: "form_submitted", visitor_id: visitorId(), design_id: config.design,
        page_url: location.href, properties,
        consent: { sms: consent.checked },  // the box is shown: unticked is an explicit no
        consent_text: form.consent_text,
      };
      submit.disabled = true;
      status.textContent = "Sending…";
      try {
        const r = await fetch(`${api}/events`, {
          method: "POST", body: JSON.stringify(event), mode: "cors", credentials: "omit",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${config.key}` },
        });
        if (r.ok) {
          formEl.reset(); formEl.hidden = true; thanks.hidden = false;
          status.textContent = ""; thanks.focus();
          return;
        }
        const body = await r.json().catch(() => ({}));
        const fieldProblems = {};
        for (const p of body.errors || []) {
          fieldProblems[String(p.field).replace(/^properties\./, "")] = p.message;
        }
        showProblems(fieldProblems);
        status.textContent = r.status === 429
          ? "Too many tries from this network. Please wait a minute and try again."
          : body.message || `Something went wrong (${r.status}). Please try again.`;
      } catch {
        status.textContent = "Could not reach the store. Check your connection and try again.";
      } finally {
        submit.disabled = false;
      }
    });
    if (pending) open(pending);
  }

  // a click on the ::backdrop targets the dialog itself, outside its box
  function outside(e) {
    const box = e.target.getBoundingClientRect();
    return e.clientX < box.left || e.clientX > box.right || e.clientY < box.top || e.clientY > box.bottom;
  }

  fetch(configUrl, { mode: "cors", credentials: "omit" })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`config: HTTP ${r.status}`))))
    .then((config) => {
      if (document.body) render(config);
      else document.addEventListener("DOMContentLoaded", () => render(config));
    })
    .catch((err) => console.warn(`justuno-braze embed (${design}):`, err.message));
})();
