/*
 * GridGov boundary editor (/map/edit): the map, layers, selection, history and coverage.
 *
 * Pick a parent area to work in; its children are drawn editable (Leaflet-Geoman), every other
 * area and the buildings nearby are context that new shapes snap to. The tools and the save
 * flow (preview, topology problems, snap fix, stale edits) live in edit_tools.js, which uses the
 * state and helpers exported here as GridGov.editor. API text is only ever set as text.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, el } = G;
  const LEVELS = ["district", "street", "community", "grid"];
  /** "2 grids" / "2 个网格": how many areas of a level (the config's count template). */
  function levelCount(level, n) {
    const entry = ((S.config && S.config.levels) || []).find((l) => l.level === level);
    return entry ? t(entry.count, { n: G.number(n) }) : n + " " + level;
  }

  /** A level's name on this page (from the config: translated, or GRIDGOV_LEVEL_LABELS). */
  function levelLabel(level) {
    const entry = ((S.config && S.config.levels) || []).find((l) => l.level === level);
    return entry ? entry.label : level;
  }
  const EDITOR_ROLES = ["admin", "officer"];
  const WORK_STYLE = { color: "#e6550d", weight: 2, fillColor: "#e6550d", fillOpacity: 0.12 };
  const FOREIGN_STYLE = { color: "#7a7a7a", weight: 1.5, fillColor: "#9e9e9e", fillOpacity: 0.08,
    dashArray: "4 4" };
  const SELECTED_STYLE = { color: "#08519c", weight: 4, fillColor: "#3182bd", fillOpacity: 0.2 };
  const BUILDING_STYLE = { color: "#636363", weight: 0.8, fillColor: "#969696", fillOpacity: 0.35 };
  const HISTORY_STYLE = { color: "#6a3d9a", weight: 2.5, dashArray: "6 4", fill: false };
  const PROBLEM_STYLE = {
    overlap: { color: "#c00000", fillColor: "#ff2020", fillOpacity: 0.5, weight: 2 },
    outside_parent: { color: "#c00000", fillColor: "#ff2020", fillOpacity: 0.5, weight: 2 },
    invalid_geometry: { color: "#c00000", fillColor: "#ff2020", fillOpacity: 0.8, weight: 2 },
    gap: { color: "#b8860b", fillColor: "#fdae61", fillOpacity: 0.45, weight: 1.5,
      dashArray: "4 3" },
    theirs: { color: "#1f78b4", weight: 3, dashArray: "8 5", fill: false },
    accepted: { fillOpacity: 0.15, dashArray: "2 4" }, // known, recorded at import
  };
  const KIND_TEXT = {
    overlap: t("Overlap"),
    outside_parent: t("Outside the parent"),
    invalid_geometry: t("Invalid shape"),
    gap: t("Gap"),
  };

  /** Editor state, shared with edit_tools.js. */
  const S = {
    map: null, config: null, api: "", csrf: null, user: null,
    areas: new Map(), // code → Feature of every loaded district, street and community
    parent: null, // code of the area being worked in
    children: new Map(), // code → {feature, layer} of the parent's current children
    selected: null, // code of the selected child
    draft: null, // the change being prepared: {kind, code?, codes?, layer?}
    mode: null, // a Geoman drawing in progress: "draw" | "cut" | "split" | "merge"
    layers: { context: {} },
    loadTicket: 0,
  };

  /** GET/POST/PUT/DELETE JSON with the session's CSRF token: {ok, status, body, etag}. */
  async function send(method, url, body, headers) {
    const init = {
      method: method,
      credentials: "same-origin",
      headers: Object.assign({ Accept: "application/json" }, headers || {}),
    };
    if (method !== "GET" && S.csrf) init.headers["X-CSRF-Token"] = S.csrf;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (_networkError) {
      return { ok: false, status: 0, body: null, etag: null };
    }
    let parsed = null;
    try {
      parsed = await response.json();
    } catch (_notJson) {
      parsed = null;
    }
    return { ok: response.ok, status: response.status, body: parsed,
      etag: response.headers.get("ETag") };
  }

  const isEditor = () => Boolean(S.user && EDITOR_ROLES.includes(S.user.role));
  const levelRank = (level) => LEVELS.indexOf(level) + 1;
  const childLevel = (code) => {
    const parent = S.areas.get(code);
    return parent ? LEVELS[levelRank(parent.properties.level)] : null;
  };

  /** Codes from `code` up through its parents (as far as the page knows them). */
  function lineage(code, parentCode) {
    const out = [code];
    let next = parentCode !== undefined ? parentCode : S.areas.get(code)?.properties.parent_code;
    while (next && out.length < 12) {
      out.push(next);
      next = S.areas.get(next)?.properties.parent_code;
    }
    return out;
  }

  /** Whether the user may change area `code` (admins anywhere, officers inside their area). */
  function inScope(code, parentCode) {
    if (!isEditor() || !code) return false;
    if (S.user.role === "admin") return true;
    return Boolean(S.user.area) && lineage(code, parentCode).includes(S.user.area);
  }

  function areaName(code) {
    const f = S.areas.get(code) || S.children.get(code)?.feature;
    return f ? f.properties.name + " (" + code + ")" : code;
  }

  function shortCode(code) {
    return S.parent && code.startsWith(S.parent) ? code.slice(S.parent.length) : code;
  }

  function bboxAround(bounds) {
    const b = bounds.pad(0.25);
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v)).toFixed(6);
    return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
      clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)].join(",");
  }

  function tooltipText(feature) {
    const p = feature.properties || {};
    return el("span", { className: "gg-tip" }, el("strong", {}, p.code || ""), " ", p.name || "");
  }

  // --- the message box (#gg-message) -------------------------------------------------------

  /** Show a message: kind (saved | preview | confirm | topology | stale | error | info), text,
   * list items and which action buttons are offered. */
  function showMessage(kind, text, items, buttons) {
    const box = document.getElementById("gg-message");
    box.hidden = false;
    box.dataset.kind = kind;
    document.getElementById("gg-message-text").replaceChildren(...[].concat(text));
    document.getElementById("gg-message-list").replaceChildren(
      ...(items || []).map((item) => el("li", {}, item)));
    for (const id of ["confirm", "snap", "reload", "back", "cancel"]) {
      document.getElementById("gg-" + id).hidden = !(buttons || []).includes(id);
    }
  }

  function hideMessage() {
    const box = document.getElementById("gg-message");
    box.hidden = true;
    delete box.dataset.kind;
  }

  // --- problem, coverage and history layers ------------------------------------------------

  /** Problems on a layer; `prefix(feature)` adds text before the tooltip's message. */
  function problemLayer(features, target, prefix) {
    return L.geoJSON({ type: "FeatureCollection", features: features }, {
      pane: S.config.panes.problems,
      pmIgnore: true,
      snapIgnore: true,
      style: (f) => Object.assign({ className: "gg-problem gg-problem-" + f.properties.kind +
        (f.properties.accepted ? " gg-problem-accepted" : "") },
      PROBLEM_STYLE[f.properties.kind] || PROBLEM_STYLE.overlap,
      f.properties.accepted ? PROBLEM_STYLE.accepted : {}),
      pointToLayer: (f, latlng) => L.circleMarker(latlng, Object.assign({ radius: 9,
        pane: S.config.panes.problems, className: "gg-problem gg-problem-" + f.properties.kind },
      PROBLEM_STYLE.invalid_geometry)),
      onEachFeature: (f, layer) => layer.bindTooltip(el("span", {}, (prefix ? prefix(f) : "") +
        (KIND_TEXT[f.properties.kind] || f.properties.kind) + ": " + f.properties.message),
        { sticky: true, className: "gg-tooltip" }),
    }).addTo(target);
  }

  /** Draw topology problems (or gap warnings) of the last answer; returns their messages. */
  function drawProblems(collection) {
    const features = (collection && collection.features) || [];
    problemLayer(features, S.layers.problems);
    return features.map((f) => (KIND_TEXT[f.properties.kind] || f.properties.kind) + ": " +
      f.properties.message);
  }

  function clearProblems() {
    S.layers.problems.clearLayers();
  }

  /** The other side of a stale edit: the version someone else saved, as a blue outline. */
  function drawTheirs(current) {
    const features = [].concat(current || []);
    L.geoJSON({ type: "FeatureCollection", features: features }, {
      pane: S.config.panes.problems, pmIgnore: true, snapIgnore: true, interactive: false,
      style: () => Object.assign({ className: "gg-theirs" }, PROBLEM_STYLE.theirs),
    }).addTo(S.layers.problems);
  }

  // the history panel (with lineage) and the coverage problems live in edit_history.js
  const loadCoverage = () => G.editorHistory.loadCoverage();
  const loadHistory = (code) => G.editorHistory.loadHistory(code);

  // --- context layers, buildings and the editable children ---------------------------------

  function drawContext(level, features) {
    const group = window[level.layer];
    if (S.layers.context[level.level]) group.removeLayer(S.layers.context[level.level]);
    const layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
      pane: level.pane,
      pmIgnore: true, // not editable here …
      snapIgnore: false, // … but new edges snap to it
      style: () => Object.assign({}, level.style),
      onEachFeature: (feature, path) => {
        path.bindTooltip(tooltipText(feature), { sticky: true, className: "gg-tooltip" });
        path.on("click", () => pickParentFromMap(feature.properties.code));
      },
    });
    layer.addTo(group);
    S.layers.context[level.level] = layer;
  }

  /** Clicking an area that can be worked in makes it the parent (when nothing is in progress). */
  function pickParentFromMap(code) {
    if (S.mode || S.draft || code === S.parent) return;
    const select = document.getElementById("gg-parent");
    if (![...select.options].some((o) => o.value === code)) return;
    select.value = code;
    setParent(code);
  }

  async function loadContext(bounds) {
    const bbox = bboxAround(bounds);
    const grids = await G.fetchAreas(S.api, "level=grid&bbox=" + bbox);
    for (const level of S.config.levels) {
      const features = level.level === "grid" ? grids
        : [...S.areas.values()].filter((f) => f.properties.level === level.level);
      drawContext(level, features.filter((f) => f.properties.parent_code !== S.parent));
    }
    const buildings = await G.fetchAllFeatures(S.api + "/buildings?limit=1000&bbox=" + bbox);
    S.layers.buildings.clearLayers();
    L.geoJSON({ type: "FeatureCollection", features: buildings }, {
      pane: S.config.buildings.pane, pmIgnore: true, snapIgnore: true, interactive: false,
      style: () => Object.assign({ className: "gg-building" }, BUILDING_STYLE),
    }).addTo(S.layers.buildings);
  }

  function styleFor(code) {
    if (code === S.selected) return SELECTED_STYLE;
    return inScope(code, S.parent) ? WORK_STYLE : FOREIGN_STYLE;
  }

  function restyle() {
    for (const [code, child] of S.children) {
      if (!S.draft || S.draft.layer !== child.layer) child.layer.setStyle(styleFor(code));
    }
    for (const item of document.querySelectorAll("#gg-children li")) {
      const button = item.querySelector("button");
      button.setAttribute("aria-pressed", String(item.dataset.code === S.selected));
    }
  }

  /** Draw the parent's children: editable when in the user's scope, labelled with their code. */
  function renderWork() {
    S.layers.work.clearLayers();
    const list = document.getElementById("gg-children");
    list.replaceChildren();
    for (const [code, child] of S.children) {
      const editable = inScope(code, S.parent);
      const layer = L.geoJSON(child.feature, {
        pane: S.config.panes.work,
        pmIgnore: !editable,
        snapIgnore: false,
        style: () => Object.assign({ className: "gg-work" }, styleFor(code)),
      }).getLayers()[0];
      layer.feature = child.feature;
      // a node, not a string: Leaflet would parse a string as HTML
      layer.bindTooltip(el("span", {}, shortCode(code) + " " + child.feature.properties.name),
        { permanent: true, direction: "center", className: "gg-label", interactive: false });
      layer.on("click", (event) => window.GridGov.editorTools.workClicked(code, event));
      S.layers.work.addLayer(layer);
      child.layer = layer;
      const button = el("button", { type: "button", "aria-pressed": "false" },
        el("strong", {}, shortCode(code)), " ", child.feature.properties.name);
      button.addEventListener("click", () => window.GridGov.editorTools.workClicked(code, null));
      list.append(el("li", { dataset: { code: code, editable: String(editable) } }, button));
    }
    restyle();
  }

  /** Fetch the parent's current children (after every save too); keeps the selection if alive. */
  async function loadWork() {
    const features = await G.fetchAreas(S.api, "parent=" + encodeURIComponent(S.parent));
    features.sort((a, b) => (a.properties.code < b.properties.code ? -1 : 1));
    S.children = new Map(features.map((f) => [f.properties.code, { feature: f, layer: null }]));
    if (childLevel(S.parent) !== "grid") {
      for (const [code, f] of [...S.areas]) if (f.properties.parent_code === S.parent) {
        S.areas.delete(code);
      }
      for (const f of features) S.areas.set(f.properties.code, f);
    }
    renderWork();
  }

  /** Say the page is ready: the parent and how many children it has (tests wait for this). */
  function announce() {
    const level = childLevel(S.parent);
    const n = S.children.size;
    G.setStatus("ready", t("{parent} ({code}): {count}", {
      parent: S.areas.get(S.parent).properties.name, code: S.parent, count: levelCount(level, n) }));
  }

  function select(code) {
    S.selected = code && S.children.has(code) ? code : null;
    restyle();
    window.GridGov.editorTools.updateTools();
    loadHistory(S.selected);
  }

  /** Reload the parent's children and the context around them (after a save or a reload). */
  async function refresh(selectCode) {
    await loadWork();
    const parent = S.areas.get(S.parent);
    await loadContext(L.geoJSON(parent).getBounds());
    select(selectCode);
    await loadCoverage();
    announce();
  }

  async function setParent(code) {
    const ticket = (S.loadTicket += 1);
    window.GridGov.editorTools.discard();
    hideMessage();
    S.parent = code;
    S.selected = null;
    const url = new URL(window.location.href);
    url.searchParams.set("parent", code);
    window.history.replaceState(null, "", url);
    G.setStatus("loading", t("Loading…"));
    try {
      await loadWork();
      if (ticket !== S.loadTicket) return;
      const bounds = L.geoJSON(S.areas.get(code)).getBounds();
      // the panel covers the right of the map: keep the parent clear of it
      const panel = document.getElementById("gg-editor").offsetWidth;
      G.fitClear(S.map, bounds, { paddingTopLeft: [60, 16], paddingBottomRight: [panel + 26, 16] });
      await loadContext(bounds);
      select(null);
      await loadCoverage();
      if (ticket === S.loadTicket) announce();
    } catch (error) {
      G.setStatus("error", t("Could not load:") + " " + error.message);
    }
  }

  // --- start ---------------------------------------------------------------------------------

  function parentOptions() {
    const mine = S.user.area ? lineage(S.user.area) : [];
    return [...S.areas.values()]
      .filter((f) => f.properties.level !== "grid")
      // officers work in their own area (or, to redraw it, in the areas above it)
      .filter((f) => S.user.role !== "officer" || inScope(f.properties.code) ||
        mine.includes(f.properties.code))
      .sort((a, b) => levelRank(a.properties.level) - levelRank(b.properties.level) ||
        (a.properties.code < b.properties.code ? -1 : 1));
  }

  function defaultParent(options) {
    const codes = options.map((f) => f.properties.code);
    const asked = new URL(window.location.href).searchParams.get("parent");
    if (asked && codes.includes(asked)) return asked;
    const mine = S.user.area ? lineage(S.user.area) : [];
    const own = mine.find((c) => codes.includes(c));
    if (own) return own;
    return (options.find((f) => f.properties.level === "community") || options[0])
      ?.properties.code;
  }

  G.pages.edit = async function edit(map, config) {
    S.map = map;
    S.config = config;
    S.api = config.api;
    G.editor = S;
    S.layers.work = L.featureGroup().addTo(map);
    S.layers.problems = L.featureGroup().addTo(map);
    S.layers.coverage = L.featureGroup().addTo(map);
    S.layers.history = L.featureGroup().addTo(map);
    S.layers.buildings = L.featureGroup().addTo(window[config.buildings.layer]);
    const session = await send("GET", S.api + "/session");
    if (session.status === 401) {
      window.location.assign(config.login);
      return;
    }
    if (!session.ok) {
      G.setStatus("error", G.errorMessage(session));
      return;
    }
    S.user = session.body.user;
    S.csrf = session.body.csrf_token;
    document.getElementById("gg-user").textContent = S.user.name + " · " + G.roleLabel(S.user.role) +
      (S.user.area ? " · " + S.user.area : "") +
      (isEditor() ? "" : " — " + t("only admins and grid officers may change boundaries"));
    window.GridGov.editorTools.install();
    try {
      for (const level of ["district", "street", "community"]) {
        const features = await G.fetchAreas(S.api, "level=" + level);
        for (const f of features) S.areas.set(f.properties.code, f);
      }
    } catch (error) {
      G.setStatus("error", t("Could not load areas:") + " " + error.message);
      return;
    }
    if (S.user.area && !S.areas.has(S.user.area)) {
      // a grid officer: the grid's parents are where they work
      const own = await send("GET", S.api + "/areas/" + encodeURIComponent(S.user.area));
      if (own.ok) S.areas.set(S.user.area, own.body);
    }
    const options = parentOptions();
    const select = document.getElementById("gg-parent");
    select.replaceChildren(...options.map((f) => el("option", { value: f.properties.code },
      levelLabel(f.properties.level) + " " + f.properties.name + " (" + f.properties.code + ")")));
    select.disabled = options.length === 0;
    select.addEventListener("change", () => setParent(select.value));
    const first = defaultParent(options);
    if (!first) {
      G.setStatus("error", t("No areas to work in"));
      return;
    }
    select.value = first;
    await setParent(first);
  };

  window.GridGov.editorCore = {
    S, send, inScope, isEditor, areaName, childLevel, showMessage, hideMessage, drawProblems,
    clearProblems, drawTheirs, loadCoverage, refresh, select, restyle, renderWork, levelLabel,
    problemLayer, HISTORY_STYLE,
  };
})();
