// The login history's filter form: what htmx's attributes alone cannot say
// (templates/admin/history.html). A static file, since the CSP allows no inline script;
// every word it shows comes from the page.
(() => {
  "use strict";

  // A filter has settled when the admin moves on to another field, or leaves it alone this
  // long: its next change starts a new history entry, and until then each change replaces
  // the entry. So typing, or arrow keys in a select, leave one entry per settled filter.
  const SETTLE_MS = 1500;
  let lastEntryAt = 0;
  let entryField = null;  // the field whose changes the current entry holds
  let requestField = null;  // the field that sent the latest request (a submit: the same one)

  const fromFilters = (elt) => Boolean(elt && elt.closest && elt.closest("#history-filters"));
  const towardsRows = (ctx) => Boolean(ctx && ctx.target && ctx.target.id === "history-rows");

  // A half-filled date picker has no value to send (it would send none, and drop the
  // filter): keep the table and say so. Otherwise tell the server whether the admin is
  // still typing, so that a value that is not valid yet gets a hint, not an error.
  document.addEventListener("htmx:config:request", (event) => {
    const ctx = event.detail.ctx;
    if (!fromFilters(ctx.sourceElement)) return;
    const form = document.getElementById("history-filters");
    if ([...form.elements].some((field) => field.validity && field.validity.badInput)) {
      event.preventDefault();
      const hint = document.getElementById("history-hint");
      hint.textContent = hint.dataset.dateHint;
      return;
    }
    const trigger = ctx.sourceEvent;
    if (trigger && trigger.target !== form) requestField = trigger.target;
    if (trigger && trigger.type === "input") ctx.request.headers["Portal-Typing"] = "true";
  });

  document.addEventListener("htmx:before:history:update", (event) => {
    if (!fromFilters(event.detail.sourceElement)) return;  // a page link always pushes
    const now = Date.now();
    const same = event.detail.history.path === location.pathname + location.search;
    if (same || (now - lastEntryAt < SETTLE_MS && requestField === entryField)) {
      event.detail.history.type = "replace";
    }
    lastEntryAt = now;
    entryField = requestField;
  });

  // A failed request leaves the last rows in place: mark them, and say so over them.
  const failed = () => {
    document.getElementById("history-rows").classList.add("stale");
    document.getElementById("history-error").hidden = false;
  };
  document.addEventListener("htmx:response:error", (event) => {
    const ctx = event.detail.ctx;
    if (towardsRows(ctx) && ctx.response.status !== 400) failed();  // a 400 explains itself
  });
  document.addEventListener("htmx:error", (event) => {
    if (towardsRows(event.detail.ctx)) failed();
  });
  // Fresh rows arrive without the mark: then the error is over.
  document.addEventListener("htmx:after:swap", () => {
    const rows = document.getElementById("history-rows");
    const error = document.getElementById("history-error");
    if (rows && error && !rows.classList.contains("stale")) error.hidden = true;
  });
})();
