/*
 * GridGov dispatch console: 大联勤 patrols in the command view (dispatchers and admins only; the
 * API refuses positions to everyone else and limits them to the caller's scope).
 *
 * - Officers on patrol now: GET /api/v1/patrols/live (Server-Sent Events) sends `positions` (every
 *   patrol of the scope whose last fix is at most a minute old) and then one `position` per batch
 *   of fixes; a marker whose last fix grows older than LIVE_MS is taken off.
 * - Today's tracks: GET /api/v1/patrols/tracks once, then extended by the live positions.
 * - 就近派遣: the case panel gets "Nearest on-duty officers" (GET …/nearest-officers, walking or straight-line
 *   distance), through GridGov.dispatch.caseExtras.
 *
 * Starts with the console's own live stream (wraps GridGov.dispatch.connectStream, late bound).
 * State for tests: #gg-patrols data-count; markers .gg-officer[data-patrol].
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, dispatch: state } = G;
  const el = state.el;
  const LIVE_MS = 60000;
  const POSITION_ROLES = ["admin", "dispatcher"];
  const patrols = { markers: new Map(), tracks: new Map(), officers: null, lines: null, source: null };
  state.patrols = patrols;

  function allowed() {
    return state.user && POSITION_ROLES.includes(state.user.role);
  }

  function counter() {
    let node = document.getElementById("gg-patrols");
    if (!node) {
      node = el("p", { id: "gg-patrols", className: "gg-hint", dataset: { count: "0" } });
      document.getElementById("gg-live").after(node);
    }
    return node;
  }

  function showCount() {
    const n = patrols.markers.size;
    const node = counter();
    node.dataset.count = String(n);
    node.textContent = t("Officers on patrol now: {n}", { n: G.number(n) });
  }

  function describe(p) {
    return p.leader + (p.department ? " · " + state.departmentText(p.department) : "")
      + " · " + t("last fix {when}", { when: state.when(p.at || p.last_fix_at) });
  }

  function trackOf(id) {
    let line = patrols.tracks.get(id);
    if (!line) {
      line = L.polyline([], { color: "#9467bd", weight: 3, opacity: 0.8, className: "gg-track" });
      line.addTo(patrols.lines);
      patrols.tracks.set(id, line);
    }
    return line;
  }

  /** One officer's position: a marker (new or moved) and the end of the day's track. */
  function place(p) {
    const at = new Date(p.at || p.last_fix_at);
    if (Date.now() - at.getTime() > LIVE_MS) return;
    const id = String(p.patrol);
    const latlng = L.latLng(p.lat, p.lon);
    let marker = patrols.markers.get(id);
    if (!marker) {
      marker = L.circleMarker(latlng, {
        radius: 8, color: "#fff", weight: 2, fillColor: "#9467bd", fillOpacity: 1, className: "gg-officer",
      }).addTo(patrols.officers);
      marker.getElement().dataset.patrol = id;
      marker.bindTooltip("");
      patrols.markers.set(id, marker);
    } else if (marker.at && marker.at > at) {
      return; // an older batch arrived late
    }
    marker.at = at;
    marker.setLatLng(latlng);
    marker.setTooltipContent(describe(p));
    marker.getElement().dataset.at = at.toISOString();
    trackOf(id).addLatLng(latlng);
    showCount();
  }

  function prune() {
    for (const [id, marker] of patrols.markers) {
      if (Date.now() - marker.at.getTime() > LIVE_MS) {
        marker.remove();
        patrols.markers.delete(id);
      }
    }
    showCount();
  }

  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch (_bad) {
      return null;
    }
  }

  async function start() {
    if (!allowed() || patrols.source) return;
    patrols.lines = L.layerGroup().addTo(state.map);
    patrols.officers = L.layerGroup().addTo(state.map);
    showCount();
    const tracks = await G.getJSON(state.api + "/patrols/tracks");
    for (const f of (tracks.ok ? tracks.body.features : [])) {
      const line = trackOf(String(f.id));
      if (line.getLatLngs().length === 0) line.setLatLngs(f.geometry.coordinates.map((c) => L.latLng(c[1], c[0])));
    }
    const source = new EventSource(state.api + "/patrols/live");
    source.addEventListener("positions", (event) => (parse(event) || []).forEach(place));
    source.addEventListener("position", (event) => {
      const p = parse(event);
      if (p) place(p);
    });
    patrols.source = source;
    setInterval(prune, 5000);
  }

  // --- 就近派遣: the nearest on-duty officers of a case ---------------------------------------

  async function nearest(doc, section) {
    const list = section.querySelector("ul");
    const result = await G.getJSON(state.api + "/incidents/" + encodeURIComponent(doc.id) + "/nearest-officers");
    if (!result.ok) {
      list.replaceChildren(el("li", { className: "gg-error" }, G.errorMessage(result)));
      section.dataset.state = "error";
      return;
    }
    const officers = result.body.officers || [];
    const walking = result.body.method === "walking";
    section.querySelector("h3").textContent = walking
      ? t("Nearest officers (walking distance)") : t("Nearest officers (straight line)");
    list.replaceChildren(...(officers.length ? officers.map((o) => {
      const metres = t("{m} m", { m: G.number(Math.round(o.distance_m)) });
      const item = el("li", { dataset: { patrol: String(o.patrol) } },
        el("button", { type: "button", className: "gg-link" }, o.leader),
        " · " + (o.department ? state.departmentText(o.department) + " · " : "")
          + (walking && o.walking_m === null ? t("{m} in a straight line (no street leads there)", { m: metres }) : metres));
      item.querySelector("button").addEventListener("click", () =>
        state.map.setView(L.latLng(o.lat, o.lon), Math.max(state.map.getZoom(), 17)));
      return item;
    }) : [el("li", { className: "gg-hint" }, t("No officer on duty nearby."))]));
    section.dataset.state = "ready";
    section.dataset.method = result.body.method;
    section.dataset.count = String(officers.length);
  }

  state.caseExtras = state.caseExtras || [];
  state.caseExtras.push((doc) => {
    if (!allowed()) return;
    const button = el("button", { type: "button", id: "gg-nearest-button" }, t("Nearest on-duty officers"));
    const section = el("section", { className: "gg-section", id: "gg-nearest", dataset: { state: "idle" } },
      el("h3", {}, t("Nearest on-duty officers")), button, el("ul", {}));
    button.addEventListener("click", () => nearest(doc, section));
    const actions = document.getElementById("gg-actions");
    if (actions && actions.parentNode) actions.parentNode.before(section);
  });

  const connect = state.connectStream;
  state.connectStream = function connectStreamAndPatrols() {
    connect();
    start();
  };
})();
