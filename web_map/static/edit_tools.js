/*
 * GridGov boundary editor: the tools (draw, edit vertices, cut, split, merge, retire) and the save
 * flow. Geoman does the drawing with snapping on; every change goes to the API with If-Match (the
 * version the page loaded) and the session's CSRF token. A change to an existing area is
 * previewed first (which open incidents and buildings would move) and saved only on Confirm.
 * Topology problems come back drawn in red with a one-click "snap to neighbours" (?fix=snap);
 * a stale version (412) says who changed the area and offers to reload.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, el } = G;
  const DRAFT_STYLE = { color: "#08519c", weight: 3, fillColor: "#6baed6", fillOpacity: 0.3 };
  const SNAPPABLE = ["overlap", "outside_parent"];
  let C = null; // GridGov.editorCore
  let S = null; // the editor state
  let pending = null; // what Confirm sends: {run, fix}
  let busy = false;

  const $ = (id) => document.getElementById(id);
  const when = (iso) => G.when(iso);

  function geomanOptions() {
    return {
      snappable: true, // vertices and edges of neighbouring areas pull the cursor in …
      snapDistance: S.config.snap_distance_px, // … from this many pixels away
      snapSegment: true,
      allowSelfIntersection: false,
      pathOptions: DRAFT_STYLE,
    };
  }

  /** The (Multi)Polygon or LineString of a layer at full precision (no rounding to 1e-6°). */
  function geometryOf(layer) {
    const doc = layer.toGeoJSON(false);
    if (doc.type !== "FeatureCollection") return doc.geometry;
    const parts = doc.features.map((f) => f.geometry).filter((g) => g && /Polygon$/.test(g.type));
    if (parts.length === 0) return null;
    if (parts.length === 1) return parts[0];
    return { type: "MultiPolygon",
      coordinates: parts.flatMap((g) => (g.type === "Polygon" ? [g.coordinates] : g.coordinates)) };
  }

  function ifMatch(codes) {
    return { "If-Match": codes.map((c) =>
      '"' + S.children.get(c).feature.properties.version_id + '"').join(", ") };
  }

  async function request(method, path, body, headers) {
    busy = true;
    updateTools();
    try {
      return await C.send(method, S.api + path, body, headers);
    } finally {
      busy = false;
      updateTools();
    }
  }

  function updateTools() {
    if (!C) return;
    const idle = !S.mode && !S.draft && !busy && C.isEditor();
    const canDraw = idle && Boolean(S.parent) && C.inScope(S.parent) &&
      Boolean(C.childLevel(S.parent));
    const canChange = idle && Boolean(S.selected) && C.inScope(S.selected, S.parent);
    for (const button of document.querySelectorAll("#gg-tools button")) {
      button.disabled = button.dataset.needs === "selected" ? !canChange : !canDraw;
      button.setAttribute("aria-pressed", String(S.mode === button.dataset.tool));
    }
    for (const id of ["gg-save", "gg-discard", "gg-confirm", "gg-snap", "gg-reload"]) {
      $(id).disabled = busy;
    }
  }

  function info(text) {
    C.showMessage("info", text, [], ["cancel"]);
  }

  // --- starting a change ---------------------------------------------------------------------

  function begin() {
    cancelMode();
    C.hideMessage();
    C.clearProblems();
  }

  /** Start a mode: Geoman's drawing `tool` with `options` (none for merge), and `words` to guide. */
  function startMode(mode, words, tool, options) {
    begin();
    S.mode = mode;
    if (tool) S.map.pm.enableDraw(tool, options);
    info(words);
    updateTools();
  }

  function startDraw() {
    startMode("draw", t("Click to place the corners; click the first corner to finish. Corners snap to nearby edges and corners."),
      "Polygon", geomanOptions());
  }

  function selectedChild() {
    return S.selected ? S.children.get(S.selected) : null;
  }

  function startEdit() {
    const child = selectedChild();
    if (!child) return;
    begin();
    S.draft = { kind: "update", code: S.selected, layer: child.layer };
    child.layer.setStyle(DRAFT_STYLE);
    child.layer.pm.enable(geomanOptions());
    watch(child.layer);
    showDraft();
  }

  function startCut() {
    const child = selectedChild();
    if (!child) return;
    startMode("cut", t("Draw the piece to cut out of {code}; click the first corner to finish.", { code: S.selected }),
      "Cut", Object.assign(geomanOptions(), { layersToCut: [child.layer] }));
  }

  function startSplit() {
    if (!selectedChild()) return;
    startMode("split", t("Draw a line across {code} from edge to edge; click the last point again to finish.", { code: S.selected }),
      "Line", geomanOptions());
  }

  function startMerge() {
    if (!selectedChild()) return;
    startMode("merge", t("Click the neighbouring area to merge {code} with.", { code: S.selected }));
  }

  function startRetire() {
    if (!selectedChild()) return;
    begin();
    S.draft = { kind: "retire", code: S.selected };
    showDraft();
  }

  /** A shape changed after its preview: that preview no longer holds, so Confirm is withdrawn. */
  function watch(layer) {
    layer.on("pm:edit", () => {
      if (pending) back();
    });
  }

  /** Geoman finished a shape: a new area's outline or a split line. */
  function created(event) {
    if (S.mode === "draw" || S.mode === "split") C.hideMessage();
    if (S.mode === "draw" && event.shape === "Polygon") {
      S.mode = null;
      S.draft = { kind: "create", layer: event.layer };
      event.layer.pm.enable(geomanOptions()); // corners can still be dragged before saving
      watch(event.layer);
      showDraft();
    } else if (S.mode === "split" && event.shape === "Line") {
      S.mode = null;
      S.draft = { kind: "split", code: S.selected, layer: event.layer };
      showDraft();
    } else {
      event.layer.remove();
    }
  }

  /** Geoman cut the selected area: the remainder (a new layer) is the draft. */
  function cut(event) {
    if (S.mode !== "cut") return;
    S.mode = null;
    C.hideMessage();
    S.layers.work.removeLayer(event.originalLayer);
    if (!geometryOf(event.layer)) {
      event.layer.remove();
      C.renderWork();
      C.showMessage("error", t("Nothing is left after that cut: use Retire to remove an area."), [], []);
      updateTools();
      return;
    }
    S.draft = { kind: "update", code: S.selected, layer: event.layer };
    if (event.layer.setStyle) event.layer.setStyle(DRAFT_STYLE);
    if (event.layer.pm) {
      event.layer.pm.enable(geomanOptions());
      watch(event.layer);
    }
    showDraft();
  }

  /** A click on one of the parent's children (on the map or in the list). */
  function workClicked(code) {
    if (S.mode === "merge") {
      if (code === S.selected || !C.inScope(code, S.parent)) return;
      S.mode = null;
      S.draft = { kind: "merge", codes: [S.selected, code] };
      S.children.get(code).layer.setStyle(DRAFT_STYLE);
      S.children.get(S.selected).layer.setStyle(DRAFT_STYLE);
      C.hideMessage();
      showDraft();
      return;
    }
    if (S.mode || S.draft) return; // Geoman is drawing, or a change is under way
    C.select(code);
  }

  function showDraft() {
    const d = S.draft;
    const level = C.childLevel(S.parent);
    const texts = {
      create: t("New {level} in {parent}: name it and save (corners can still be dragged).",
        { level: C.levelLabel(level), parent: C.areaName(S.parent) }),
      update: t("Changing {area}: drag corners, then save.", { area: C.areaName(d.code) }),
      split: t("Split {area} along the line drawn: it is retired and each piece becomes a new area.",
        { area: C.areaName(d.code) }),
      merge: d.codes && t("Merge {codes} into one new area (both are retired).",
        { codes: d.codes.join(" + ") }),
      retire: t("Retire {area}: its current version is closed (history is kept).",
        { area: C.areaName(d.code) }),
    };
    $("gg-draft-text").textContent = texts[d.kind];
    const named = { create: t("New {level}", { level: C.levelLabel(level) }),
      update: d.code && S.children.get(d.code)?.feature.properties.name,
      merge: d.codes && S.children.get(d.codes[0]).feature.properties.name };
    $("gg-name-field").hidden = !(d.kind in named);
    $("gg-name").value = named[d.kind] || "";
    $("gg-note").value = "";
    $("gg-draft").hidden = false;
    $("gg-draft").dataset.kind = d.kind;
    updateTools();
  }

  function cancelMode() {
    if (S.mode) {
      S.map.pm.disableDraw();
      S.mode = null;
      C.restyle();
    }
    updateTools();
  }

  /** Drop the change being prepared and show the stored shapes again. */
  function discard() {
    if (!C) return;
    cancelMode();
    const draft = S.draft;
    S.draft = null;
    pending = null;
    $("gg-draft").hidden = true;
    C.clearProblems();
    if (draft && draft.layer) {
      if (draft.layer.pm) draft.layer.pm.disable();
      draft.layer.remove();
    }
    if (draft) C.renderWork();
    updateTools();
  }

  // --- saving --------------------------------------------------------------------------------

  function impactItems(impact, done) {
    const incidents = (impact && impact.incidents) || [];
    const buildings = (impact && impact.buildings) || [];
    const counts = { incidents: incidents.length, buildings: buildings.length };
    return [
      done
        ? t("{incidents} open incidents moved · {buildings} buildings moved", counts)
        : t("{incidents} open incidents would move · {buildings} buildings would move", counts),
      ...incidents.map((i) => t("Incident {id}: grid {from} → {to}, department {dfrom} → {dto}", {
        id: i.id, from: i.from.grid || "—", to: i.to.grid || "—",
        dfrom: i.from.department || "—", dto: i.to.department || "—" })),
      ...buildings.map((b) => t("Building") + " " + (b.name || "#" + b.id) + ": " + (b.from || "—") +
        " → " + (b.to || "—")),
    ];
  }

  function fixItems(fix) {
    if (!fix) return [];
    const siblings = Object.entries(fix.siblings_m2 || {}).map(([code, m2]) => code + " " + m2 +
      " m²");
    const text = t("Snapped: removed {removed} m² (outside the parent {outside} m²)", {
      removed: fix.area_removed_m2, outside: fix.outside_parent_m2 });
    return [siblings.length ? text + " · " + t("overlapping {list}", { list: siblings.join(", ") }) : text];
  }

  const nameValue = () => $("gg-name").value.trim();
  const noteValue = () => $("gg-note").value.trim() || null;

  /** Save (or, for existing areas, preview then confirm) the draft; fix = "snap" or null. */
  async function save(fix) {
    const d = S.draft;
    if (!d || busy) return;
    C.clearProblems();
    const q = fix ? "?fix=" + fix : "";
    if (d.kind === "create" || d.kind === "update") {
      const geometry = geometryOf(d.layer);
      if (!geometry) return;
      if (d.kind === "create") {
        if (!nameValue()) {
          C.showMessage("error", t("Give the new area a name."), [], []);
          return;
        }
        const body = { type: "Feature", geometry: geometry,
          properties: { name: nameValue(), parent_code: S.parent, note: noteValue() } };
        settle(await request("POST", "/areas" + q, body), d, fix);
        return;
      }
      const old = S.children.get(d.code).feature.properties.name;
      const body = { type: "Feature", geometry: geometry, properties: {
        name: nameValue() && nameValue() !== old ? nameValue() : null, note: noteValue() } };
      const path = "/areas/" + encodeURIComponent(d.code);
      const preview = await request("POST", path + "/preview" + q, body, ifMatch([d.code]));
      if (!preview.ok) {
        failed(preview, d, fix);
        return;
      }
      showPreview(preview.body, d);
      pending = { fix: fix, run: () => request("PUT", path + q, body, ifMatch([d.code])) };
      return;
    }
    const path = d.code ? "/areas/" + encodeURIComponent(d.code) : "";
    if (d.kind === "split") {
      const body = { type: "Feature", geometry: geometryOf(d.layer),
        properties: { note: noteValue() } };
      pending = { run: () => request("POST", path + "/split", body, ifMatch([d.code])) };
    } else if (d.kind === "merge") {
      const body = { codes: d.codes, name: nameValue() || null, note: noteValue() };
      pending = { run: () => request("POST", "/areas/merge", body, ifMatch(d.codes)) };
    } else {
      pending = { run: () => request("DELETE", path, undefined, ifMatch([d.code])) };
    }
    C.showMessage("confirm", $("gg-draft-text").textContent + " " +
      t("Open incidents and buildings affected are re-assigned and listed after saving."), [],
    ["confirm", "back"]);
  }

  function showPreview(body, d) {
    const warnings = C.drawProblems(body.warnings);
    const impact = body.impact || { incidents: [], buildings: [] };
    C.showMessage("preview", t("Before saving") + " " + C.areaName(d.code) + ":",
      [...impactItems(impact, false), ...fixItems(body.fix), ...warnings], ["confirm", "back"]);
    $("gg-message").dataset.incidents = String(impact.incidents.length);
    $("gg-message").dataset.buildings = String(impact.buildings.length);
  }

  async function confirm() {
    if (!pending || busy) return;
    const d = S.draft;
    const { run, fix } = pending;
    pending = null;
    settle(await run(), d, fix);
  }

  /** After the API answered a save: show what happened, or why nothing was saved. */
  async function settle(result, d, fix) {
    if (!result.ok) {
      failed(result, d, fix);
      return;
    }
    const body = result.body;
    let text;
    let selectCode = null;
    if (d.kind === "create" || d.kind === "update") {
      const p = body.properties;
      selectCode = p.code;
      const values = { name: p.name, code: p.code, version: p.version_id };
      text = d.kind === "create" ? t("Created {name} ({code}), version {version}.", values)
        : t("Saved a new version of {name} ({code}), version {version}.", values);
    } else if (d.kind === "split" || d.kind === "merge") {
      const codes = body.features.map((f) => f.properties.code);
      selectCode = codes[0];
      const values = { old: body.retired.join(" + "), new: codes.join(", ") };
      text = d.kind === "split" ? t("Split {old} → {new}.", values) : t("Merged {old} → {new}.", values);
    } else {
      text = t("Retired {code}.", { code: d.code });
    }
    discard();
    await C.refresh(selectCode);
    const warnings = C.drawProblems(body.warnings);
    C.showMessage("saved", text, [...impactItems(body.impact, true), ...fixItems(body.fix),
      ...warnings], []);
  }

  function failed(result, d, fix) {
    const error = result.body && result.body.error;
    if (result.status === 412 && error) {
      const current = [].concat(error.details.current || []);
      C.drawTheirs(current);
      const p = (current[0] && current[0].properties) || {};
      const codes = (error.details.stale_codes || [d.code]).join(", ");
      C.showMessage("stale", t("Someone else changed {codes} since you loaded it (now version {version}, saved by {who} at {when}). Your change was not saved: reload to see their version (blue dashes), then redo your edit.",
        { codes: codes, version: p.version_id, who: p.created_by || "—", when: when(p.valid_from) }), [error.message],
      ["reload"]);
      return;
    }
    if (result.status === 422 && error && error.code === "topology_error") {
      const items = C.drawProblems(error.details.problems);
      const kinds = ((error.details.problems || {}).features || []).map((f) => f.properties.kind);
      const snappable = !fix && (d.kind === "create" || d.kind === "update") &&
        kinds.some((k) => SNAPPABLE.includes(k)) && !kinds.includes("invalid_geometry");
      C.showMessage("topology", t("Not saved: the red parts are the problems.") +
        (snappable ? " " + t("\"Snap to neighbours\" cuts off the overlaps and whatever lies outside the parent, so shared edges match exactly.") : ""),
      items, snappable ? ["snap"] : []);
      return;
    }
    if (result.status === 401) {
      C.showMessage("error", [t("Your session has ended:") + " ",
        el("a", { href: S.config.login }, t("sign in again"))], [], []);
      return;
    }
    C.showMessage("error", t("Not saved:") + " " + G.errorMessage(result), [],
      pending ? ["back"] : []);
  }

  async function reload() {
    const code = S.draft && (S.draft.code || (S.draft.codes || [])[0]);
    discard();
    C.hideMessage();
    await C.refresh(code || S.selected);
  }

  function back() {
    pending = null;
    C.clearProblems();
    if (S.mode) cancelMode();
    C.hideMessage();
  }

  function install() {
    C = G.editorCore;
    S = C.S;
    const map = S.map;
    map.pm.setLang(G.intl().startsWith("zh") ? "zh" : "en");
    map.pm.setGlobalOptions(Object.assign(geomanOptions(), {
      panes: { layerPane: S.config.panes.work, vertexPane: "markerPane", markerPane: "markerPane" },
    }));
    map.on("pm:create", created);
    map.on("pm:cut", cut);
    const tools = { draw: startDraw, edit: startEdit, cut: startCut, split: startSplit,
      merge: startMerge, retire: startRetire };
    for (const button of document.querySelectorAll("#gg-tools button")) {
      button.addEventListener("click", () => tools[button.dataset.tool]());
    }
    $("gg-save").addEventListener("click", () => save(null));
    $("gg-snap").addEventListener("click", () => save("snap"));
    $("gg-discard").addEventListener("click", () => {
      discard();
      C.hideMessage();
    });
    $("gg-confirm").addEventListener("click", confirm);
    $("gg-reload").addEventListener("click", reload);
    $("gg-back").addEventListener("click", back);
    $("gg-cancel").addEventListener("click", back);
    $("gg-coverage").addEventListener("change", () => C.loadCoverage());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && S.mode) back();
    });
    updateTools();
  }

  G.editorTools = { install, updateTools, discard, workClicked };
})();
