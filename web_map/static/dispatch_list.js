/*
 * GridGov dispatch console: the incident list (#gg-list) and the (re)load of incidents.
 *
 * `loadIncidents` asks GET /api/v1/incidents (newest first, one page) and the open whistles, fills
 * the map (dispatch_markers.js) and the list; live events that arrive meanwhile are replayed.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, dispatch: state } = G;
  const { el, label, statusColor, latLngOf } = state;
  const { readFilters, filterParams, listUrl, upsert, setTileLayer, loadView, applyLive } = state.late(
    "readFilters", "filterParams", "listUrl", "upsert", "setTileLayer", "loadView", "applyLive"
  );
  const LIST_MAX = 300; // entries in the side list; the map shows them all
  const LIST_ZOOM_MIN = 16;
  const LIST_ZOOM_MAX = 18; // about 2 m a pixel: street and building, not the paving stones
  const LARGE_KEY = "gridgov.dispatch.large";

  let listQueued = false;
  function renderListSoon() {
    if (listQueued) return;
    listQueued = true;
    requestAnimationFrame(() => {
      listQueued = false;
      renderList();
    });
  }

  function renderList() {
    const list = document.getElementById("gg-list");
    const features = Array.from(state.features.values()).sort((a, b) =>
      String(b.properties.reported_at).localeCompare(String(a.properties.reported_at))
    );
    const items = features.slice(0, LIST_MAX).map((feature) => {
      const p = feature.properties;
      const id = String(feature.id);
      const dot = el("span", { className: "gg-dot" });
      dot.style.backgroundColor = statusColor(p.status);
      const button = el(
        "button",
        { type: "button", className: "gg-list-item", dataset: { incident: id } },
        dot,
        el("span", { className: "gg-list-id" }, id),
        el("span", { className: "gg-list-status" }, label("statuses", p.status)),
        el("span", { className: "gg-list-cat" }, p.category_name || p.category),
        p.place ? el("span", { className: "gg-list-place" }, p.place) : null,
        p.overdue ? el("span", { className: "gg-flag gg-flag-overdue" }, t("Overdue")) : null,
        state.whistled.has(id) ? el("span", { className: "gg-flag gg-flag-whistle" }, t("Whistled")) : null
      );
      return el(
        "li",
        { dataset: { incident: id, status: p.status }, className: id === state.selected ? "gg-selected" : null },
        button
      );
    });
    list.replaceChildren(...items);
    const total = state.features.size;
    const shown = total > LIST_MAX ? " " + t("(listing {n})", { n: LIST_MAX }) : "";
    if (state.large) {
      // more match than one page: the count is unknown here; the map shows them all
      G.setStatus(
        "ready",
        t("Over {max} incidents; listing the newest {n}; zoom in for markers",
          { max: state.config.incident_tiles.markers_max, n: Math.min(total, LIST_MAX) })
      );
      return;
    }
    G.setStatus("ready", t("{n} incidents", { n: G.number(total) }) + shown);
  }

  /** Which filters (and user) the last large load was for: one entry per browser. */
  function largeKey(filters) {
    return [state.user.name, filterParams(filters).toString()].join("?");
  }

  function remembered(name) {
    try {
      return window.localStorage.getItem(name);
    } catch (_refused) {
      return null; // storage refused (private mode): nothing remembered
    }
  }

  function remember(name, value) {
    try {
      if (value === null) window.localStorage.removeItem(name);
      else window.localStorage.setItem(name, value);
    } catch (_refused) {
      // not remembered: the next load asks for the tiles after the list
    }
  }

  /** Open whistles on open incidents the user may follow
   * (GET /api/v1/whistles?open=true&incident_open=true: the console shows open cases only). */
  async function fetchOpenWhistles() {
    const whistles = [];
    let cursor = null;
    for (let page = 0; page < 20; page += 1) {
      let url = state.api + "/whistles?open=true&incident_open=true&limit=1000";
      if (cursor) url += "&cursor=" + encodeURIComponent(cursor);
      const result = await G.getJSON(url);
      if (!result.ok) throw new Error(G.errorMessage(result));
      whistles.push(...(result.body.whistles || []));
      cursor = result.body.next_cursor;
      if (!cursor) break;
    }
    return whistles;
  }

  /** A list feature made from an incident document (GET /api/v1/incidents/{id}). */
  function featureFromDoc(doc) {
    const known = state.features.get(doc.id);
    const props = Object.assign({}, known ? known.properties : {}, {
      id: doc.id,
      status: doc.status,
      overdue: doc.overdue,
      due_at: doc.due_at,
      department: doc.departments ? doc.departments.lead : null,
      category: doc.category.code,
      category_name: doc.category.name,
      updated_at: doc.updated_at,
      reported_at: doc.reported_at,
    });
    for (const level of ["grid", "community", "street", "district"]) {
      const area = doc.assignment && doc.assignment[level];
      props[level] = area ? area.code : null;
    }
    return { type: "Feature", id: doc.id, geometry: doc.location, properties: props };
  }

  /** A department is also on the cases it was whistled to (吹哨) and has yet to report in to. */
  async function summonedFeatures(whistles, features) {
    const own = state.user.role === "department" ? state.user.department : null;
    state.summoned = new Set();
    if (!own) return [];
    for (const w of whistles) {
      if ((w.check_ins || []).some((k) => k.department === own && !k.checked_in_at)) {
        state.summoned.add(String(w.incident));
      }
    }
    const listed = new Set(features.map((f) => String(f.id)));
    const missing = Array.from(state.summoned).filter((id) => !listed.has(id));
    const docs = await Promise.all(
      missing.map((id) => G.getJSON(state.api + "/incidents/" + encodeURIComponent(id)))
    );
    return docs.filter((d) => d.ok).map((d) => featureFromDoc(d.body));
  }

  /** (Re)load the incidents for the current filters; live events meanwhile are replayed after. */
  async function loadIncidents() {
    const ticket = (state.loadTicket += 1);
    state.filters = readFilters();
    state.loading = true;
    G.setStatus("loading", t("Loading…"));
    // The last load with these filters needed tiles (more matched than one page): the tiles are
    // asked for now, alongside the list, not after it (at 1,000,000 incidents the list page is
    // the slowest request of the load). Still decided by the list: removed if it all fits.
    const key = largeKey(state.filters);
    if (state.large || remembered(LARGE_KEY) === key) setTileLayer(true);
    let page;
    let features;
    let whistles;
    try {
      [page, whistles] = await Promise.all([
        G.getJSON(listUrl(state.filters, { order: "newest" })),
        fetchOpenWhistles(),
      ]);
      if (!page.ok) throw new Error(G.errorMessage(page));
      features = page.body.features || [];
      features = features.concat(await summonedFeatures(whistles, features));
    } catch (error) {
      if (ticket === state.loadTicket) {
        state.loading = false;
        G.setStatus("error", t("Could not load incidents:") + " " + error.message);
      }
      return;
    }
    if (ticket !== state.loadTicket) return; // a newer filter change won
    state.whistled = new Set(whistles.map((w) => String(w.incident)));
    state.large = Boolean(page.body.next_cursor);
    if (state.large) remember(LARGE_KEY, key);
    else if (remembered(LARGE_KEY) === key) remember(LARGE_KEY, null);
    state.view = null;
    state.cluster.clearLayers();
    state.markers.clear();
    state.features.clear();
    state.batch = [];
    for (const feature of features) upsert(feature);
    state.cluster.addLayers(state.batch);
    state.batch = null;
    setTileLayer();
    document.getElementById("status").dataset.mode = state.large ? "tiles" : "markers";
    state.loading = false;
    const pending = state.pending.splice(0);
    for (const data of pending) applyLive(data);
    renderList();
    if (state.large) await loadView();
  }

  /** A list click shows the case among its streets: the view moves there at a zoom between
   * LIST_ZOOM_MIN and LIST_ZOOM_MAX (never metres across), and reports still clustered there
   * (several at one spot) are spread out around it (spiderfied). */
  function onListClick(event) {
    const target = event.target instanceof Element ? event.target.closest(".gg-list-item") : null;
    if (!target) return;
    const id = target.dataset.incident;
    const feature = state.features.get(id);
    const latlng = feature && latLngOf(feature);
    if (latlng) {
      const map = state.map;
      // large mode: the view's markers are loaded by the move (loadView) from marker_min_zoom in
      const least = state.large ? state.config.incident_tiles.marker_min_zoom + 2 : LIST_ZOOM_MIN;
      const zoom = Math.min(Math.max(map.getZoom(), least), LIST_ZOOM_MAX);
      map.setView(latlng, zoom, { animate: false });
      spreadAround(id);
    }
    state.openIncident(id);
  }

  /** Spiderfy the cluster holding the incident's marker, once the clustering has settled. */
  function spreadAround(id, tries) {
    const marker = state.markers.get(id);
    if (!marker || state.map.hasLayer(marker)) return; // no marker (tiles), or shown on its own
    const parent = state.cluster.getVisibleParent(marker);
    if (parent && parent !== marker && parent.spiderfy) parent.spiderfy(); // refused mid-animation
    if (!state.map.hasLayer(marker) && (tries || 0) < 20) setTimeout(() => spreadAround(id, (tries || 0) + 1), 100);
  }

  function buildLegend(config) {
    const legend = document.getElementById("gg-legend");
    legend.replaceChildren(
      ...Object.keys(config.statuses).map((code) => {
        const dot = el("span", { className: "gg-dot" });
        dot.style.backgroundColor = statusColor(code);
        return el("li", { dataset: { status: code } }, dot, label("statuses", code));
      }),
      el("li", {}, el("span", { className: "gg-dot gg-dot-overdue" }), t("Overdue")),
      el("li", {}, el("span", { className: "gg-flag gg-flag-whistle" }, t("W")), t("Whistled"))
    );
  }

  Object.assign(state, { renderListSoon, renderList, featureFromDoc, loadIncidents, onListClick, buildLegend });
})();
