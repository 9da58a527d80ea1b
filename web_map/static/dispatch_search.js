/*
 * GridGov dispatch console: the search box (#gg-search). Typing narrows the list to entries whose
 * case number, status or category contains the words; Enter on a case number opens that case,
 * loaded or not (GET /api/v1/incidents/{id} through the case panel). Loaded after dispatch.js and
 * dispatch_case.js; text is only compared, never inserted as markup.
 *
 * A link to /map/dispatch?incident=ID (what a notification carries) opens that case once the
 * console is ready.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const CASE_NUMBER = /^[A-Za-z0-9_.-]{1,64}$/;

  function words() {
    const input = document.getElementById("gg-search");
    return input ? input.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
  }

  /** Hide the list entries that do not contain every word typed. */
  function narrow() {
    const wanted = words();
    let shown = 0;
    for (const item of document.querySelectorAll("#gg-list > li")) {
      const text = item.textContent.toLowerCase();
      const match = wanted.every((w) => text.includes(w));
      item.hidden = !match;
      if (match) shown += 1;
    }
    const list = document.getElementById("gg-list");
    if (list) list.dataset.shown = String(shown);
  }

  function install() {
    const form = document.getElementById("gg-search-form");
    const list = document.getElementById("gg-list");
    if (!form || !list || !G.dispatch) return;
    form.addEventListener("input", narrow);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = document.getElementById("gg-search").value.trim();
      if (CASE_NUMBER.test(query) && /\d/.test(query)) G.dispatch.openIncident(query);
    });
    // the list is redrawn on every live update: keep it narrowed
    new MutationObserver(() => {
      if (words().length) narrow();
    }).observe(list, { childList: true });
    openLinked();
  }

  /** ?incident=ID: open that case when the console says it is ready (signed in, loaded). */
  function openLinked() {
    const wanted = new URLSearchParams(window.location.search).get("incident");
    const status = document.getElementById("status");
    if (!wanted || !CASE_NUMBER.test(wanted) || !status) return;
    const whenReady = () => {
      if (status.dataset.state !== "ready") return false;
      G.dispatch.openIncident(wanted);
      return true;
    };
    if (whenReady()) return;
    const watch = new MutationObserver(() => {
      if (whenReady()) watch.disconnect();
    });
    watch.observe(status, { attributes: true, attributeFilter: ["data-state"] });
  }

  document.addEventListener("DOMContentLoaded", install);
})();
