/*
 * GridGov dispatch console (/map/dispatch), on top of gridgov.js (window.GridGov).
 *
 * Who is signed in and the CSRF token come from GET /api/v1/session; incidents from
 * GET /api/v1/incidents (the filters are its query parameters); live changes from the
 * Server-Sent Events of GET /api/v1/stream, which the session cookie authenticates. The case
 * panel shows GET /api/v1/incidents/{id} and offers exactly its `allowed_actions`; actions are
 * POSTed with the X-CSRF-Token header. API text is only ever inserted as text.
 *
 * The case panel lives in dispatch_case.js; both share `GridGov.dispatch` (state + helpers).
 *
 * Two modes, chosen at each (re)load by the first page of GET /api/v1/incidents (newest first,
 * `incident_tiles.markers_max` long): when it holds every match, every incident is a clustered
 * marker. When more match ("large" mode), the side list shows that newest page, and the map draws
 * incidents from /tiles/incidents (canvas, the filters as tile parameters) below
 * `marker_min_zoom`, and as markers for the visible area (GET /api/v1/incidents?bbox=…) from it in.
 *
 * State for tests: #status, #gg-live and #gg-case carry data-state; #gg-case also carries
 * data-incident and data-status; each marker's element carries data-incident and data-status;
 * #status carries data-mode ("markers" | "tiles") and, in large mode, data-tiles ("loading" |
 * "loaded": every incident tile in view drawn).
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const t = G.t;
  const el = G.el;
  const LIST_MAX = 300; // entries in the side list; the map shows them all
  const STREAM_KINDS = ["incident", "status", "whistle", "check_in", "update"];
  const MAX_ZOOM = 21;
  const PICK_PX = 8; // tiles mode: how near a click must be to a drawn incident

  const state = {
    config: null,
    map: null,
    api: "/api/v1",
    user: null,
    csrf: null,
    cluster: null,
    markers: new Map(), // incident id → L.Marker
    batch: null, // markers collected during a full reload (see upsert)
    features: new Map(), // incident id → GeoJSON Feature (list properties)
    whistled: new Set(), // incident ids with a whistle still waiting for check-ins
    summoned: new Set(), // a department user's incidents it was whistled to (not its own)
    filters: {},
    loading: false,
    pending: [], // live events that arrived while the list was loading
    loadTicket: 0,
    selected: null,
    doc: null,
    docSignature: "",
    detailTicket: 0,
    formOpen: false,
    staleDetail: false,
    departments: new Map(), // code → name
    received: 0, // live events handled (for tests and the status line)
    large: false, // more incidents match than one page: tiles when zoomed out (see the top)
    tiles: null, // the incident vector-tile layer (large mode)
    view: null, // large mode, zoomed in: the bounds the markers were loaded for
    viewTicket: 0,
    redrawTimer: null,
  };
  G.dispatch = state;

  // --- small helpers -------------------------------------------------------------------------

  function label(table, code) {
    const entry = (state.config[table] || {})[code];
    return entry ? entry.label : String(code);
  }

  function statusColor(code) {
    const entry = state.config.statuses[code];
    return entry ? entry.color : "#555555";
  }

  function when(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return isNaN(date) ? String(iso) : G.when(iso);
  }

  function departmentText(code) {
    if (!code) return "—";
    const name = state.departments.get(code);
    return name ? name + " (" + code + ")" : code;
  }

  function areaText(area) {
    if (!area) return "—";
    return (area.name ? area.name + " " : "") + "(" + area.code + ")";
  }

  /** POST JSON with the session's CSRF token: {ok, status, body}. */
  async function post(url, body) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
    let response;
    try {
      response = await fetch(url, { method: "POST", headers: headers, body: JSON.stringify(body) });
    } catch (_networkError) {
      return { ok: false, status: 0, body: null };
    }
    let parsed = null;
    try {
      parsed = await response.json();
    } catch (_notJson) {
      parsed = null;
    }
    return { ok: response.ok, status: response.status, body: parsed };
  }

  /** An API error in words, with what the user may do instead when the API says so. */
  function problemText(result) {
    if (result.status === 0) return t("Network error: the server could not be reached.");
    let text = G.errorMessage(result);
    const details = result.body && result.body.error && result.body.error.details;
    if (details && Array.isArray(details.allowed_for_you)) {
      const allowed = details.allowed_for_you.map((a) => label("actions", a));
      text += " " + t("You may:") + " " + (allowed.length ? allowed.join(", ") : "—");
    }
    if (details && Array.isArray(details.problems) && details.problems.length > 1) {
      text += " " + details.problems.map((p) => p.field + ": " + p.problem).join("; ");
    }
    return text;
  }

  Object.assign(state, { el, label, statusColor, when, departmentText, areaText, post, problemText });

  // --- filters and the incident list ---------------------------------------------------------

  function readFilters() {
    const form = document.getElementById("gg-filters");
    const data = new FormData(form);
    const filters = {
      status: String(data.get("status") || ""),
      category: String(data.get("category") || ""),
      department: String(data.get("department") || ""),
      area: String(data.get("area") || "").trim(),
      overdue: data.get("overdue") === "true",
    };
    // A department user sees its own cases: the list is asked for with its department.
    if (state.user && state.user.role === "department") filters.department = state.user.department;
    return filters;
  }

  function filterParams(filters) {
    const params = new URLSearchParams();
    if (filters.status) params.set("status", filters.status);
    if (filters.category) params.set("category", filters.category);
    if (filters.department) params.set("department", filters.department);
    if (filters.area) params.set("area", filters.area);
    if (filters.overdue) params.set("overdue", "true");
    return params;
  }

  /** GET /api/v1/incidents for the filters (+ extra parameters), one page. */
  function listUrl(filters, extra) {
    const params = filterParams(filters);
    params.set("limit", String(state.config.incident_tiles.markers_max));  // extra may widen it
    for (const [key, value] of Object.entries(extra || {})) params.set(key, value);
    return state.api + "/incidents?" + params.toString();
  }

  /** Whether a feature from the live stream belongs on the map under the current filters. */
  function matches(feature) {
    const p = feature.properties || {};
    const f = state.filters;
    if (f.status && !f.status.split(",").includes(p.status)) return false;
    if (f.category && !String(p.category || "").startsWith(f.category)) return false;
    if (f.department && p.department !== f.department && !state.summoned.has(String(feature.id))) {
      return false;
    }
    if (f.area && ![p.grid, p.community, p.street, p.district].includes(f.area)) return false;
    if (f.overdue && !p.overdue) return false;
    return true;
  }

  function markerIcon(feature) {
    const p = feature.properties || {};
    const id = String(feature.id);
    const whistled = state.whistled.has(id);
    const node = el(
      "span",
      {
        className: "gg-inc" + (p.overdue ? " gg-overdue" : "") + (whistled ? " gg-whistled" : ""),
        title: id + " · " + label("statuses", p.status) + " · " + (p.category_name || p.category),
        dataset: {
          incident: id,
          status: p.status,
          overdue: p.overdue ? "true" : "false",
          whistled: whistled ? "true" : "false",
        },
      },
      p.overdue ? "!" : "",
      whistled ? el("span", { className: "gg-inc-whistle" }, t("W")) : null
    );
    node.style.backgroundColor = statusColor(p.status);
    return L.divIcon({ html: node, className: "gg-inc-icon", iconSize: [22, 22], iconAnchor: [11, 11] });
  }

  function clusterIcon(cluster) {
    const children = cluster.getAllChildMarkers();
    const count = cluster.getChildCount();
    const size = count < 10 ? "small" : count < 100 ? "medium" : "large";
    let className = "marker-cluster marker-cluster-" + size;
    if (children.some((m) => m.options.ggOverdue)) className += " gg-cluster-overdue";
    if (children.some((m) => m.options.ggWhistled)) className += " gg-cluster-whistled";
    const node = el("div", {}, el("span", {}, String(count)));
    return L.divIcon({ html: node, className: className, iconSize: L.point(40, 40) });
  }

  function removeMarker(id) {
    const marker = state.markers.get(id);
    if (marker) state.cluster.removeLayer(marker);
    state.markers.delete(id);
  }

  function removeIncident(id) {
    removeMarker(id);
    state.features.delete(id);
  }

  /** Large mode: whether an incident belongs among the markers (zoomed in, in the loaded view). */
  function markedOnMap(latlng) {
    return !state.large || (state.view !== null && state.view.contains(latlng));
  }

  function latLngOf(feature) {
    const c = feature.geometry && feature.geometry.coordinates;
    return c ? L.latLng(c[1], c[0]) : null;
  }

  /** Add or update one incident's marker (or drop it when it no longer matches the filters). */
  function upsert(feature) {
    const id = String(feature.id);
    const latlng = latLngOf(feature);
    if (state.large) redrawTilesSoon();
    if (!latlng || !matches(feature)) {
      removeIncident(id);
      return;
    }
    state.features.set(id, feature);
    placeMarker(feature, latlng);
  }

  function placeMarker(feature, latlng) {
    const id = String(feature.id);
    if (!markedOnMap(latlng)) {
      removeMarker(id);
      return;
    }
    const p = feature.properties || {};
    const old = state.markers.get(id);
    if (old && !old.getLatLng().equals(latlng)) {
      state.cluster.removeLayer(old);
      state.markers.delete(id);
    }
    let marker = state.markers.get(id);
    if (!marker) {
      marker = L.marker(latlng, { icon: markerIcon(feature), keyboard: true, alt: id });
      marker.on("click", () => state.openIncident(id));
      state.markers.set(id, marker);
      marker.options.ggOverdue = Boolean(p.overdue);
      marker.options.ggWhistled = state.whistled.has(id);
      // During a full reload markers are collected and added in one addLayers() call: one
      // clustering pass instead of one per marker (10,000 markers: seconds saved).
      if (state.batch) state.batch.push(marker);
      else state.cluster.addLayer(marker);
    } else {
      marker.options.ggOverdue = Boolean(p.overdue);
      marker.options.ggWhistled = state.whistled.has(id);
      marker.setIcon(markerIcon(feature));
      state.cluster.refreshClusters(marker);
    }
  }

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

  /** Open whistles on open incidents the user may follow
   * (GET /api/v1/whistles?open=true&incident_open=true: a check-in never made leaves its whistle
   * open after the case closed, and the console shows open cases only). */
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

  // --- large mode: tiles when zoomed out, markers for the view when zoomed in ------------------

  function tileStyle(properties) {
    return {
      radius: 5,
      fill: true,
      fillColor: statusColor(properties.status),
      fillOpacity: 0.9,
      color: properties.overdue ? "#d00000" : "#ffffff",
      weight: properties.overdue ? 2.5 : 1,
    };
  }

  /** Add, re-point or remove the incident tile layer for the mode and filters. */
  function setTileLayer() {
    const spec = state.config.incident_tiles;
    if (!state.large) {
      if (state.tiles) state.map.removeLayer(state.tiles);
      state.tiles = null;
      return;
    }
    const query = filterParams(state.filters).toString();
    const url = spec.url + (query ? "?" + query : "");
    if (state.tiles) {
      state.tiles.setUrl(url);
      return;
    }
    state.tiles = L.vectorGrid.protobuf(url, {
      rendererFactory: L.canvas.tile,
      pane: spec.pane,
      // VectorGrid's own point hit-testing breaks on Leaflet 1.9 (its point features have no
      // latlng for the event); a click is answered by pickAt() from the map's click instead
      interactive: false,
      maxNativeZoom: 22,
      maxZoom: spec.marker_min_zoom - 1, // from there on the view's markers take over
      vectorTileLayerStyles: { incidents: tileStyle },
      getFeatureId: (f) => f.properties.id,
    });
    const status = document.getElementById("status");
    state.tiles.on("loading", () => (status.dataset.tiles = "loading"));
    state.tiles.on("load", () => (status.dataset.tiles = "loaded"));
    state.tiles.addTo(window[state.config.incidents_layer]);
  }

  /** The API's bbox parameter for map bounds, clamped to the world (the API refuses beyond). */
  function bboxParam(bounds) {
    return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map((v, i) => Math.max(Math.min(v, i % 2 ? 90 : 180), i % 2 ? -90 : -180).toFixed(7))
      .join(",");
  }

  /** Tiles mode: open the incident drawn nearest a click (within PICK_PX), asking the API. */
  async function pickAt(latlng) {
    if (!state.large || state.view !== null) return;
    const map = state.map;
    const at = map.latLngToContainerPoint(latlng);
    const near = L.latLngBounds(
      map.containerPointToLatLng(at.add([-PICK_PX, PICK_PX])),
      map.containerPointToLatLng(at.add([PICK_PX, -PICK_PX]))
    );
    const result = await G.getJSON(listUrl(state.filters, { bbox: bboxParam(near), order: "newest" }));
    if (!result.ok) return;
    let best = null;
    let bestDistance = PICK_PX + 1;
    for (const feature of result.body.features || []) {
      const distance = map.latLngToContainerPoint(latLngOf(feature)).distanceTo(at);
      if (distance < bestDistance) [best, bestDistance] = [feature, distance];
    }
    if (best) state.openIncident(String(best.id));
  }

  /** Live changes reach the tiles by a redraw (the server drops the tiles a change touched). */
  function redrawTilesSoon() {
    if (!state.tiles || state.redrawTimer) return;
    state.redrawTimer = setTimeout(() => {
      state.redrawTimer = null;
      if (state.tiles) state.tiles.redraw();
    }, 1000);
  }

  /** Large mode: markers for the visible area from marker_min_zoom in; none (tiles) below. */
  async function loadView() {
    if (!state.large) return;
    const ticket = (state.viewTicket += 1);
    const map = state.map;
    const zoomedIn = map.getZoom() >= state.config.incident_tiles.marker_min_zoom;
    const status = document.getElementById("status");
    if (!zoomedIn) {
      state.view = null;
      state.cluster.clearLayers();
      state.markers.clear();
      status.dataset.mode = "tiles";
      return;
    }
    const view = map.getBounds().pad(0.25);
    const spec = state.config.incident_tiles;
    const query = { bbox: bboxParam(view), limit: spec.view_max, order: "newest" };
    const result = await G.getJSON(listUrl(state.filters, query));
    if (ticket !== state.viewTicket || !state.large) return; // moved again, or reloaded
    if (!result.ok) return;
    // more than a page in view even zoomed in: the newest page's markers, and a word about it
    if (result.body.next_cursor) {
      G.setStatus(
        "ready",
        t("Over {max} incidents in view; showing the newest — zoom in", { max: spec.view_max })
      );
    }
    state.view = view;
    state.cluster.clearLayers();
    state.markers.clear();
    state.batch = [];
    for (const feature of result.body.features || []) {
      const latlng = latLngOf(feature);
      // the list's copy may be newer (a live event); the view's copy otherwise
      if (latlng && matches(feature)) placeMarker(state.features.get(String(feature.id)) || feature, latlng);
    }
    state.cluster.addLayers(state.batch);
    state.batch = null;
    status.dataset.mode = "markers";
  }

  // --- live updates --------------------------------------------------------------------------

  function setLive(value, text) {
    const node = document.getElementById("gg-live");
    node.dataset.state = value;
    node.textContent = text;
  }

  async function refreshWhistled(id) {
    const result = await G.getJSON(state.api + "/incidents/" + encodeURIComponent(id));
    if (!result.ok) return;
    const open = (result.body.whistles || []).some((w) => w.open);
    if (open) state.whistled.add(id);
    else state.whistled.delete(id);
    const feature = state.features.get(id);
    if (feature) upsert(feature);
    renderListSoon();
  }

  function applyLive(data) {
    const feature = data.incident;
    if (!feature || feature.id === undefined) return;
    const id = String(feature.id);
    if (data.action === "whistle") {
      state.whistled.add(id);
      const summoned = (data.data && data.data.departments) || [];
      if (state.user.role === "department" && summoned.includes(state.user.department)) {
        state.summoned.add(id);
      }
    }
    upsert(feature);
    if (data.action === "check_in") refreshWhistled(id);
    renderListSoon();
    if (state.selected === id) state.refreshDetail();
  }

  function onLive(event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (_bad) {
      return;
    }
    state.received += 1;
    document.body.dataset.liveEvents = String(state.received);
    if (state.loading) state.pending.push(data);
    else applyLive(data);
  }

  function connectStream() {
    // Same origin: the session cookie goes along and authenticates the stream. The browser
    // reconnects by itself and sends Last-Event-ID, so nothing is missed in between.
    const source = new EventSource(state.api + "/stream");
    source.addEventListener("open", () => setLive("live", "● " + t("Live")));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        setLive("closed", t("Live updates stopped: reload the page."));
      } else {
        setLive("connecting", t("Reconnecting…"));
      }
    });
    for (const kind of STREAM_KINDS) source.addEventListener(kind, onLive);
    state.source = source;
  }

  function onListClick(event) {
    const target = event.target instanceof Element ? event.target.closest(".gg-list-item") : null;
    if (!target) return;
    const id = target.dataset.incident;
    const marker = state.markers.get(id);
    const feature = state.features.get(id);
    if (marker) state.cluster.zoomToShowLayer(marker, () => {});
    else if (feature && latLngOf(feature)) {
      // large mode: the view's markers are loaded by the move (loadView)
      const zoom = Math.max(state.map.getZoom(), state.config.incident_tiles.marker_min_zoom + 2);
      state.map.setView(latLngOf(feature), zoom, { animate: false });
    }
    state.openIncident(id);
  }
  // --- start ---------------------------------------------------------------------------------

  /** The filters the first load needs (statuses, the user's area), and their listeners. */
  function presetFilters(config) {
    const form = document.getElementById("gg-filters");
    const status = form.elements.namedItem("status");
    status.replaceChildren(
      el("option", { value: config.open_statuses.join(","), selected: "selected" }, t("Open")),
      el("option", { value: "" }, t("All")),
      ...Object.keys(config.statuses).map((code) => el("option", { value: code }, label("statuses", code)))
    );
    if ((state.user.role === "dispatcher" || state.user.role === "officer") && state.user.area) {
      form.elements.namedItem("area").value = state.user.area;
    }
    form.addEventListener("change", () => loadIncidents());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      loadIncidents();
    });
  }

  /** Category and department choices (they arrive while the incidents load). */
  function fillFilterLists(categories, departments) {
    const form = document.getElementById("gg-filters");
    const category = form.elements.namedItem("category");
    for (const c of categories) {
      const indent = c.parent_code ? "　" : "";
      category.append(el("option", { value: c.code }, indent + c.name + " " + c.code));
    }
    const department = form.elements.namedItem("department");
    for (const d of departments) department.append(el("option", { value: d.code }, d.name + " (" + d.code + ")"));
    if (state.user.role === "department") {
      department.value = state.user.department;
      department.disabled = true; // the API holds them to their cases; the page says so too
    }
  }

  async function fillAreaCodes() {
    const list = document.getElementById("gg-area-codes");
    const options = [];
    // the picker is searched by name as well as code: each option is labelled "name · level"
    const levelNames = { district: t("District"), street: t("Street"), community: t("Community"), grid: t("Grid") };
    for (const level of ["district", "street", "community"]) {
      try {
        const features = await G.fetchAllFeatures(state.api + "/areas?level=" + level + "&limit=1000", 5);
        for (const f of features) options.push(el("option", { value: f.properties.code }, f.properties.name + " · " + levelNames[level]));
      } catch (_ignored) {
        // the datalist is a convenience; typing a code still works
      }
    }
    // grid codes are only known here when the grids came as GeoJSON; as vector tiles they are
    // not listed (10,000 options would cost what the tiles saved) and typing a code still works
    const grids = G.layers.grid && G.layers.grid.getLayers ? G.layers.grid.getLayers() : [];
    for (const layer of grids) {
      const p = layer.feature.properties;
      options.push(el("option", { value: p.code }, p.name + " · " + levelNames.grid));
    }
    list.replaceChildren(...options);
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

  Object.assign(state, { upsert, renderListSoon, featureFromDoc });

  G.pages.dispatch = async function dispatch(map, config) {
    state.config = config;
    state.map = map;
    state.api = config.api;
    const gridLevel = config.levels[0];
    const extent = gridLevel.tiles
      ? G.tileBounds("grids").catch(() => null)
      : G.loadAreaLevel(map, config.api, gridLevel)
          .then((layer) => (layer.getLayers().length ? layer.getBounds() : null))
          .catch(() => null);
    const session = await G.getJSON(config.api + "/session");
    if (session.status === 401) {
      window.location.assign(config.login); // the sign-in ran out since the page was served
      return;
    }
    if (!session.ok) {
      G.setStatus("error", G.errorMessage(session));
      return;
    }
    state.user = session.body.user;
    state.csrf = session.body.csrf_token;
    const who = document.getElementById("gg-user");
    who.textContent = state.user.name + " · " + G.roleLabel(state.user.role)
      + (state.user.area ? " · " + state.user.area : "")
      + (state.user.department ? " · " + state.user.department : "");
    who.dataset.state = "ready";
    who.dataset.role = state.user.role;

    buildLegend(config);
    // Clustering needs a top zoom; with no base map (the intranet default) no layer gives one.
    if (map.getMaxZoom() === Infinity) map.setMaxZoom(MAX_ZOOM);
    state.cluster = L.markerClusterGroup({
      iconCreateFunction: clusterIcon,
      showCoverageOnHover: false,
      maxClusterRadius: 40,
    });
    state.cluster.addTo(window[config.incidents_layer]);
    document.getElementById("gg-case").addEventListener("click", state.onPanelClick);
    document.getElementById("gg-list").addEventListener("click", onListClick);

    // Order matters for the time to a working console: the filters the first load needs, then
    // the view fitted to the grids (one TileJSON request, asked for at the start), then the
    // incidents; category and department choices arrive meanwhile; grid and building tiles are
    // asked for last, once, for the final view.
    presetFilters(config);
    const lists = Promise.all([
      G.getJSON(config.api + "/categories"),
      G.getJSON(config.api + "/departments"),
    ]).then(([categories, departments]) => {
      const deptRows = departments.ok ? departments.body.departments : [];
      for (const d of deptRows) state.departments.set(d.code, d.name);
      fillFilterLists(categories.ok ? categories.body.categories : [], deptRows);
    });
    connectStream(); // before the first load: events meanwhile are queued, not lost
    const gridBounds = await extent;
    if (gridBounds) map.fitBounds(gridBounds, { padding: [24, 24], animate: false });
    map.on("moveend", () => loadView());
    // Tiles mode picks from the container's own clicks: where no grid is drawn, a click on a
    // canvas tile never becomes a Leaflet map click (VectorGrid keeps it to its features).
    L.DomEvent.on(map.getContainer(), "click", (event) => {
      const target = event.target;
      if (target.closest && target.closest(".leaflet-control, .leaflet-marker-icon, .leaflet-popup")) return;
      if (map.dragging && map.dragging.moved()) return;
      pickAt(map.mouseEventToLatLng(event));
    });
    await loadIncidents();
    const bounds = L.latLngBounds([]);
    if (gridBounds) bounds.extend(gridBounds);
    for (const marker of state.markers.values()) bounds.extend(marker.getLatLng());
    if (bounds.isValid() && !(gridBounds && gridBounds.contains(bounds))) {
      map.fitBounds(bounds, { padding: [24, 24], animate: false });
    }
    if (gridLevel.tiles) {
      // vector tiles: only the tiles in view are fetched and drawn on canvas
      G.loadAreaTiles(map, gridLevel);
      if (config.buildings) G.loadBuildingTiles(map, config.buildings);
    }
    // 源头治理: clusters of the last 7 days (≥ 5 reports within 100 m) as their own overlay,
    // once the console works (an overlay, not needed to act; with 10,000 incidents it is the
    // slowest request); a user the API refuses hotspots to simply gets an empty layer.
    if (config.hotspots_layer && G.addHotspotLayer) {
      G.addHotspotLayer(map, { days: 7, radius_m: 100, min_count: 5, addToMap: false })
        .then((layer) => layer.addTo(window[config.hotspots_layer]))
        .catch(() => {});
    }
    await lists;
    fillAreaCodes();
  };
})();
