/*
 * GridGov hotspot layer (源头治理): GridGov.addHotspotLayer(map, params) → Promise<L.LayerGroup>.
 *
 * Self-contained: needs only Leaflet (window.L). The request carries the page's session
 * cookie (same origin); GET /api/v1/hotspots answers signed-in staff only (401/403 otherwise).
 * Include it after leaflet.js on any page and call, e.g.
 *
 *   GridGov.addHotspotLayer(map, {days: 7, radius_m: 100, min_count: 5}).then((layer) => …);
 *
 * params: days, radius_m, min_count, category (API query parameters, API defaults when absent),
 * api (default "/api/v1"), pane (a Leaflet pane name), addToMap (default true), timeZone
 * (IANA name for the times in popups, e.g. "Asia/Shanghai"; default the browser's).
 * The returned group has .features (the GeoJSON features), .reload(params) and .error (the
 * API's message when the request failed; the group is then empty). Each hull and centre marker
 * is drawn from API data as text only (no innerHTML); centre markers' elements carry
 * data-hotspot="H1" etc. for tests and styling.
 */
(function () {
  "use strict";

  const GridGov = (window.GridGov = window.GridGov || {});
  const t = (msgid, params) => (GridGov.t ? GridGov.t(msgid, params) : msgid);
  const COLOR = "#b10026";
  const PARAMS = ["days", "radius_m", "min_count", "category"];

  function node(tag, text, className) {
    const n = document.createElement(tag);
    if (className) n.className = className;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function when(iso, timeZone) {
    return GridGov.when(iso, timeZone);
  }

  function row(table, label, value) {
    const tr = table.insertRow();
    tr.append(node("th", label), node("td", value));
  }

  function popupFor(feature, timeZone) {
    const p = feature.properties || {};
    const box = node("div", null, "gg-hotspot");
    box.append(node("h2", t("Hotspot") + " " + (feature.id || "")));
    const table = node("table", null, "gg-assign");
    row(table, t("Incidents"), t("{n} ({open} open)", { n: p.count, open: p.open }));
    row(table, t("Categories"),
      (p.categories || []).map((c) => c.name + " " + c.code + " ×" + c.count).join(", "));
    row(table, t("First"), when(p.first_at, timeZone));
    row(table, t("Last"), when(p.last_at, timeZone));
    row(table, t("Grids"), (p.grids || []).map((g) => g.name + " (" + g.code + ")").join(", "));
    row(table, t("Size"), Math.round(p.area_m2 || 0) + " m²");
    box.append(table);
    const ids = node("p", (p.incidents || []).join(" "), "gg-hotspot-ids");
    box.append(ids);
    return box;
  }

  function url(api, params) {
    const q = new URLSearchParams();
    for (const key of PARAMS) {
      if (params[key] !== undefined && params[key] !== null && params[key] !== "") {
        q.set(key, String(params[key]));
      }
    }
    const s = q.toString();
    return api + "/hotspots" + (s ? "?" + s : "");
  }

  function draw(group, features, options) {
    const pane = options.pane;
    const popup = (f) => popupFor(f, options.timeZone);
    group.clearLayers();
    for (const f of features) {
      const style = { color: COLOR, weight: 2, dashArray: "4 3", fillColor: COLOR, fillOpacity: 0.2 };
      if (pane) style.pane = pane;
      const hull = L.geoJSON(f, {
        style: () => style,
        pointToLayer: (_feature, latlng) => L.circleMarker(latlng, Object.assign({ radius: 6 }, style)),
      });
      hull.bindPopup(() => popup(f), { className: "gg-popup", maxWidth: 360 });
      group.addLayer(hull);
      const c = (f.properties && f.properties.centroid) || null;
      if (c && c.type === "Point") {
        const count = (f.properties && f.properties.count) || 0;
        const marker = L.circleMarker([c.coordinates[1], c.coordinates[0]], {
          radius: Math.min(6 + 2 * Math.sqrt(count), 22),
          color: "#fff",
          weight: 2,
          fillColor: COLOR,
          fillOpacity: 0.9,
          pane: pane || "markerPane",
        });
        marker.bindTooltip(node("span", t("Hotspot {id} · {n} reports", { id: f.id, n: count })), {
          className: "gg-tooltip",
        });
        marker.bindPopup(() => popup(f), { className: "gg-popup", maxWidth: 360 });
        marker.on("add", () => {
          const e = marker.getElement();
          if (e) e.dataset.hotspot = String(f.id);
        });
        group.addLayer(marker);
      }
    }
  }

  /** Fetch GET /api/v1/hotspots and draw hulls + centre markers; resolves to the layer group. */
  GridGov.addHotspotLayer = async function addHotspotLayer(map, params) {
    const options = Object.assign({ api: "/api/v1", addToMap: true }, params || {});
    const group = L.layerGroup();
    group.features = [];
    group.error = null;
    group.reload = async function reload(next) {
      Object.assign(options, next || {});
      let response;
      let body = null;
      try {
        response = await fetch(url(options.api, options), { headers: { Accept: "application/geo+json" } });
        body = await response.json();
      } catch (_e) {
        response = null;
      }
      if (!response || !response.ok) {
        group.error = (body && body.error && body.error.message) || t("Hotspots failed");
        group.features = [];
      } else {
        group.error = null;
        group.features = body.features || [];
      }
      draw(group, group.features, options);
      return group;
    };
    if (options.addToMap) group.addTo(map);
    return group.reload();
  };
})();
