/*
 * GridGov dispatch console (/map/dispatch), on top of gridgov.js (window.GridGov).
 *
 * Who is signed in and the CSRF token come from GET /api/v1/session; incidents from
 * GET /api/v1/incidents (the filters are its query parameters); live changes from the
 * Server-Sent Events of GET /api/v1/stream, which the session cookie authenticates. The case
 * panel shows GET /api/v1/incidents/{id} and offers exactly its `allowed_actions`; actions are
 * POSTed with the X-CSRF-Token header. API text is only ever inserted as text.
 *
 * This file holds the console's shared state and small helpers (`GridGov.dispatch`); the other
 * modules (listed in dispatch.js and web_map/dispatch.py) add their functions to it.
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
  const { t, el } = G;

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
    drawnWaiters: [], // resolved when the incident tiles in view are painted (whenDrawn)
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
    try {
      return await G.postJSON(url, body, state.csrf);
    } catch (_networkError) {
      return { ok: false, status: 0, body: null };
    }
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


  function latLngOf(feature) {
    const c = feature.geometry && feature.geometry.coordinates;
    return c ? L.latLng(c[1], c[0]) : null;
  }

  /** Functions other modules of the console add to the state, called when used (late bound). */
  function late(...names) {
    return Object.fromEntries(names.map((name) => [name, (...args) => state[name](...args)]));
  }

  Object.assign(state, { el, label, statusColor, when, departmentText, areaText, post, problemText, latLngOf, late });
})();
