/*
 * GridGov dispatch console: the incidents on the map.
 *
 * Clustered markers (Leaflet.markercluster) for every incident loaded; in large mode (more match
 * than one page) incident vector tiles when zoomed out, the view's markers from `marker_min_zoom`
 * in, and a click on a drawn incident answered by asking the API what is there (pickAt).
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, dispatch: state } = G;
  const { el, label, statusColor, latLngOf } = state;
  const { matches, filterParams, listUrl } = state.late("matches", "filterParams", "listUrl");
  const PICK_PX = 8; // tiles mode: how near a click must be to a drawn incident

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

  /** Add or update one incident's marker (or drop it when it no longer matches the filters). */
  function upsert(feature) {
    const id = String(feature.id);
    const latlng = latLngOf(feature);
    // a live change; not a full reload (state.batch), which sets the tiles itself: a redraw
    // a second later fetched every tile in view a second time
    if (state.large && !state.batch) redrawTilesSoon();
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
    // compared with where it was placed: a spread-out (spiderfied) marker is drawn elsewhere
    if (old && !old.options.ggLatLng.equals(latlng)) {
      state.cluster.removeLayer(old);
      state.markers.delete(id);
    }
    let marker = state.markers.get(id);
    if (!marker) {
      marker = L.marker(latlng, { icon: markerIcon(feature), keyboard: true, alt: id, ggLatLng: latlng });
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

  /** Add, re-point or remove the incident tile layer for the mode and filters; `early`: before
   * the mode is known (see loadIncidents), the layer is added as for large mode. */
  function setTileLayer(early) {
    const spec = state.config.incident_tiles;
    if (!state.large && !early) {
      if (state.tiles) state.map.removeLayer(state.tiles);
      state.tiles = null;
      return;
    }
    const query = filterParams(state.filters).toString();
    const url = spec.url + (query ? "?" + query : "");
    if (state.tiles) {
      // a reload with the same filters asks for fresh tiles once, when it starts (early)
      if (early && state.tiles.getUrl() === url) state.tiles.redraw();
      else state.tiles.setUrl(url);
      return;
    }
    // drawn by dispatch_tiles.js (dots on one canvas per tile); clicks are answered by pickAt()
    // from the map's click: the layer is not interactive
    state.tiles = G.incidentTileLayer(
      url,
      {
        pane: spec.pane,
        maxNativeZoom: 22,
        maxZoom: spec.marker_min_zoom - 1, // from there on the view's markers take over
      },
      tileStyle
    );
    const status = document.getElementById("status");
    state.tiles.on("loading", () => (status.dataset.tiles = "loading"));
    state.tiles.on("load", () => {
      status.dataset.tiles = "loaded";
      for (const resolve of state.drawnWaiters.splice(0)) resolve();
    });
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

  /** Resolves once the incidents are drawn: at once with markers, else when the tiles in view
   * are painted (or after `ms` at the latest: a slow tile must not hold back what waits). */
  function whenDrawn(ms) {
    if (!state.tiles || document.getElementById("status").dataset.tiles === "loaded") {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      state.drawnWaiters.push(resolve);
      setTimeout(resolve, ms);
    });
  }

  Object.assign(state, { whenDrawn, upsert, placeMarker, removeIncident, clusterIcon, setTileLayer, pickAt, loadView });
})();
