/*
 * GridGov dispatch console (/map/dispatch): the start. The console's modules share
 * `GridGov.dispatch` (state and helpers, dispatch_common.js) and are listed, in load order, in
 * web_map/dispatch.py DISPATCH_SCRIPTS:
 *
 *   dispatch_common.js   state, small helpers (labels, dates, POST with the CSRF token)
 *   dispatch_filters.js  the filter form, and the API query it makes
 *   dispatch_tiles.js    the incident vector tiles of large mode, painted as dots on canvas
 *   dispatch_markers.js  incidents on the map: clustered markers, vector tiles in large mode
 *   dispatch_list.js     the incident list and the (re)load of incidents
 *   dispatch_live.js     live updates (Server-Sent Events)
 *   dispatch.js          this file: signs in, builds the map's layers, starts everything
 *   dispatch_case.js     the case panel and its action forms
 *   dispatch_whistles.js the case's whistles (吹哨), their check-ins, and withdrawing one
 *   dispatch_urge.js, dispatch_search.js, dispatch_focus.js  urging, search, the selected case
 *
 * A module adds its functions to the state with Object.assign; another calls them through
 * `state.late(...)`, so the order of definition does not matter, only that of the start.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const state = G.dispatch;
  const MAX_ZOOM = 21;
  const DRAWN_WAIT_MS = 5000; // the overlays wait this long at most for the incidents to be drawn
  const {
    buildLegend, clusterIcon, onListClick, presetFilters, fillFilterLists, connectStream, loadView,
    pickAt, loadIncidents, fillAreaCodes, whenDrawn,
  } = state.late(
    "buildLegend", "clusterIcon", "onListClick", "presetFilters", "fillFilterLists",
    "connectStream", "loadView", "pickAt", "loadIncidents", "fillAreaCodes", "whenDrawn"
  );

  /** The base map's tiles for the page's starting view are never seen: the view moves to the
   * grids as soon as their extent arrives. Off until then (its queued tile requests are
   * cancelled, 28 at 1400 × 900), back on for the fitted view unless switched off meanwhile. */
  function pauseBasemap(map) {
    const node = document.getElementById("gridgov-basemap");
    const layer = node ? window[JSON.parse(node.textContent).layer] : null;
    if (!layer || !map.hasLayer(layer)) return () => {};
    map.removeLayer(layer);
    return () => {
      if (document.body.dataset.basemap !== "off") layer.addTo(map);
    };
  }

  G.pages.dispatch = async function dispatch(map, config) {
    state.config = config;
    state.map = map;
    state.api = config.api;
    const gridLevel = config.levels[0];
    const resumeBasemap = gridLevel.tiles ? pauseBasemap(map) : () => {};
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
      resumeBasemap();
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
    resumeBasemap();
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
    // once the console works, incidents drawn (an overlay, not needed to act; at 1,000,000
    // incidents it is the slowest request, ≈ 1 s of a server worker, and it held back the
    // incident tiles); a user the API refuses hotspots to simply gets an empty layer.
    await whenDrawn(DRAWN_WAIT_MS);
    if (config.hotspots_layer && G.addHotspotLayer) {
      G.addHotspotLayer(map, { days: 7, radius_m: 100, min_count: 5, addToMap: false })
        .then((layer) => layer.addTo(window[config.hotspots_layer]))
        .catch(() => {});
    }
    await lists;
    fillAreaCodes();
  };
})();
