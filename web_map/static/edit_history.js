/*
 * GridGov boundary editor: the history panel (versions of the selected area and its lineage —
 * the areas it was split or merged from and those made from it) and the coverage problems of
 * the parent, with the ones accepted at import marked. Uses the state and helpers of edit.js
 * (GridGov.editorCore). API text is only ever set as text.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  // Words a person reads go through t() (docs/i18n.md: English ids, Chinese in the catalogue),
  // which also fills their {name} placeholders.
  const { el, t } = G;
  const when = (iso) => (iso ? G.when(iso) : "");

  function drawShape(feature) {
    const C = G.editorCore;
    C.S.layers.history.clearLayers();
    L.geoJSON(feature, { pane: C.S.config.panes.problems, pmIgnore: true, snapIgnore: true,
      interactive: false, style: () => Object.assign({ className: "gg-history-shape" },
        C.HISTORY_STYLE) }).addTo(C.S.layers.history);
  }

  /** "merged from A, B" / "split from A" for a version made by a merge or a split. */
  function derivation(props, codeOf) {
    const from = (props.derived_from || []).map((id) => codeOf.get(id) || "v" + id);
    if (from.length === 0) return null;
    const text = from.length > 1 ? t("merged from {codes}", { codes: from.join("、") })
      : t("split from {code}", { code: from[0] });
    return el("span", { className: "gg-derived", dataset: { from: from.join(",") } }, text);
  }

  function versionItem(f, codeOf) {
    const p = f.properties;
    const item = el("li", { dataset: { version: p.version_id } },
      el("button", { type: "button", className: "gg-version" },
        el("strong", {}, "v" + p.version_id), " ", when(p.valid_from), " – ",
        p.valid_to ? when(p.valid_to) : t("current")),
      el("span", { className: "gg-version-by" }, " ", p.created_by || "—",
        p.note ? " · " + p.note : ""));
    const derived = derivation(p, codeOf);
    if (derived) item.append(" ", derived);
    item.querySelector("button").addEventListener("click", () => drawShape(f));
    return item;
  }

  /** One line per related area (its latest version): where this area came from or went. */
  function lineageItem(f) {
    const p = f.properties;
    const depth = p.lineage_depth;
    const label = (depth > 0 ? t("Came from") : t("Became")) + " " +
      t("generation {n}", { n: Math.abs(depth) });
    const item = el("li", { className: "gg-lineage", dataset: { code: p.code, depth: depth } },
      el("span", { className: "gg-lineage-kind" }, label), " ",
      el("button", { type: "button", className: "gg-version" },
        el("strong", {}, p.code), " ", p.name),
      el("span", { className: "gg-version-by" }, " ", when(p.valid_from), " – ",
        p.valid_to ? when(p.valid_to) : t("current")));
    item.querySelector("button").addEventListener("click", () => drawShape(f));
    return item;
  }

  async function loadHistory(code) {
    const C = G.editorCore;
    const section = document.getElementById("gg-history");
    const list = document.getElementById("gg-history-list");
    const lineage = document.getElementById("gg-lineage");
    const related = document.getElementById("gg-lineage-list");
    C.S.layers.history.clearLayers();
    lineage.hidden = true;
    related.replaceChildren();
    if (!code) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    document.getElementById("gg-history-code").textContent = code;
    list.replaceChildren(el("li", {}, t("Loading…")));
    const result = await C.send("GET", C.S.api + "/areas/" + encodeURIComponent(code) +
      "/history?lineage=true&limit=1000");
    if (C.S.selected !== code) return;
    if (!result.ok) {
      list.replaceChildren(el("li", { className: "gg-error" }, G.errorMessage(result)));
      return;
    }
    const features = result.body.features;
    const codeOf = new Map(features.map((f) => [f.properties.version_id, f.properties.code]));
    const own = features.filter((f) => f.properties.code === code).reverse(); // newest first
    list.replaceChildren(...own.map((f) => versionItem(f, codeOf)));
    const latest = new Map(); // code → its newest version (features come oldest first)
    for (const f of features) {
      if (f.properties.code !== code) latest.set(f.properties.code, f);
    }
    const others = [...latest.values()].sort((a, b) =>
      b.properties.lineage_depth - a.properties.lineage_depth ||
      (a.properties.code < b.properties.code ? -1 : 1));
    related.replaceChildren(...others.map(lineageItem));
    lineage.hidden = others.length === 0;
  }

  async function loadCoverage() {
    const C = G.editorCore;
    C.S.layers.coverage.clearLayers();
    const count = document.getElementById("gg-coverage-count");
    if (!document.getElementById("gg-coverage").checked || !C.S.parent) {
      count.textContent = "";
      return;
    }
    const result = await C.send("GET", C.S.api + "/coverage?parent=" +
      encodeURIComponent(C.S.parent));
    if (!result.ok) {
      count.textContent = "(" + G.errorMessage(result) + ")";
      return;
    }
    const features = result.body.features;
    const accepted = features.filter((f) => f.properties.accepted).length;
    C.problemLayer(features, C.S.layers.coverage, (f) => {
      const a = f.properties.accepted;
      return a ? t("Accepted") + t(" ({at}, {by}, {source})", { at: when(a.at), by: a.by,
        source: a.source }) + " " : "";
    });
    count.dataset.count = String(features.length);
    count.dataset.accepted = String(accepted);
    count.textContent = "(" + features.length +
      (accepted ? t(", {n} accepted", { n: accepted }) : "") + ")";
  }

  window.GridGov.editorHistory = { loadHistory, loadCoverage };
})();
