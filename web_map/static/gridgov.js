/*
 * GridGov pages: shared helpers and the overview map.
 *
 * Served by GridGov itself (no CDN). Pages built by web_map/pages.py carry their settings in
 * <script type="application/json" id="gridgov-config">; on DOMContentLoaded this file finds the
 * Leaflet map folium created (config.map) and runs the page's initialiser (config.page).
 * CSP-friendly: no eval, no inline handlers, and text from the API is only ever set with
 * textContent (never innerHTML), so names like "<img onerror=…>" stay text.
 */
(function () {
  "use strict";

  const GridGov = { pages: {}, map: null, config: null, layers: {}, counts: {} };
  window.GridGov = GridGov;

  // The page's language and catalogue (web_map/i18n.py): a JSON block in <head>, before the
  // scripts, so t() works while they load. Message ids are the English texts.
  let catalogue = null;
  function i18n() {
    if (catalogue === null) {
      const node = document.getElementById("gridgov-i18n");
      catalogue = node ? JSON.parse(node.textContent) : { locale: "zh_CN", intl: "zh-CN", messages: {} };
    }
    return catalogue;
  }

  /** The translation of `msgid` in the page's language, `{name}` placeholders filled. */
  function t(msgid, params) {
    const text = Object.prototype.hasOwnProperty.call(i18n().messages, msgid)
      ? i18n().messages[msgid] : msgid;
    if (!params) return text;
    return text.replace(/\{([a-z_][a-z0-9_]*)\}/g, (whole, key) =>
      Object.prototype.hasOwnProperty.call(params, key) ? String(params[key]) : whole);
  }
  GridGov.t = t;

  const ROLES = {
    admin: "Administrator",
    dispatcher: "Dispatcher",
    officer: "Grid officer",
    department: "Department staff",
    resident: "Resident",
  };
  /** A role's name in the page's language. */
  GridGov.roleLabel = (role) => (ROLES[role] ? t(ROLES[role]) : String(role));
  /** The BCP 47 tag of the page's language, for Intl formats. */
  GridGov.intl = () => i18n().intl;
  /** A number in the page's locale format. */
  GridGov.number = (value) => new Intl.NumberFormat(i18n().intl).format(value);
  /** A date-time (ISO string) in the page's locale format, or a dash. */
  GridGov.when = function when(iso, timeZone) {
    if (!iso) return "—";
    const date = new Date(iso);
    if (isNaN(date.getTime())) return String(iso);
    const options = { hour12: false, dateStyle: "medium", timeStyle: "short" };
    try {
      return date.toLocaleString(i18n().intl, Object.assign({ timeZone: timeZone || undefined }, options));
    } catch (_badZone) {
      return date.toLocaleString(i18n().intl, options);
    }
  };

  /** Build an element: el("td", {className: "x"}, "text", child, …); strings become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  GridGov.el = el;

  /** An API answer as {ok, status, body}; body is null when the response is not JSON. */
  async function resultOf(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_notJson) {
      body = null;
    }
    return { ok: response.ok, status: response.status, body: body };
  }

  /** GET JSON from the API: {ok, status, body} (resultOf). */
  async function getJSON(url) {
    return resultOf(await fetch(url, { headers: { Accept: "application/json" } }));
  }
  GridGov.getJSON = getJSON;

  /** POST `body` as JSON with the session's CSRF token (when given) and `extra` headers:
   * {ok, status, body} (resultOf). A network failure, or `signal` aborting, throws as fetch does. */
  async function postJSON(url, body, csrf, extra, signal) {
    const headers = Object.assign({ "Content-Type": "application/json", Accept: "application/json" }, extra || {});
    if (csrf) headers["X-CSRF-Token"] = csrf;
    return resultOf(await fetch(url, { method: "POST", headers: headers, body: JSON.stringify(body), signal: signal }));
  }
  GridGov.postJSON = postJSON;

  /** The message of an API error envelope {"error": {"message"}}, or a generic one. */
  function errorMessage(result) {
    const error = result && result.body && result.body.error;
    if (error && error.message) return error.message;
    return t("Request failed") + (result && result.status ? " (HTTP " + result.status + ")" : "");
  }
  GridGov.errorMessage = errorMessage;

  /** All features of a paged FeatureCollection endpoint, following next_cursor. */
  async function fetchAllFeatures(url, maxPages) {
    const features = [];
    let cursor = null;
    for (let page = 0; page < (maxPages || 50); page += 1) {
      const pageUrl = cursor ? url + "&cursor=" + encodeURIComponent(cursor) : url;
      const result = await getJSON(pageUrl);
      if (!result.ok) throw new Error(errorMessage(result));
      features.push(...(result.body.features || []));
      cursor = result.body.next_cursor;
      if (!cursor) break;
    }
    return features;
  }
  GridGov.fetchAllFeatures = fetchAllFeatures;

  /** Every current area matching `query` (e.g. "level=grid", "parent=S01"): as many a page as
   * GET /api/v1/areas gives at once (the page config's areaPage), a city's grids in one request. */
  function fetchAreas(api, query, maxPages) {
    const size = (GridGov.config && GridGov.config.areaPage) || 1000;
    return fetchAllFeatures(api + "/areas?" + query + "&limit=" + size, maxPages);
  }
  GridGov.fetchAreas = fetchAreas;

  /** map.fitBounds keeping panels clear, but never with more padding than the map can give:
   * padding wider than a phone's map makes Leaflet compute a NaN zoom ("Invalid LatLng"). */
  function fitClear(map, bounds, options) {
    const size = map.getSize();
    const o = Object.assign({ animate: false }, options);
    const tl = L.point(o.paddingTopLeft || o.padding || [0, 0]);
    const br = L.point(o.paddingBottomRight || o.padding || [0, 0]);
    if (tl.x + br.x > size.x * 0.6) tl.x = br.x = Math.min(16, size.x / 10);
    if (tl.y + br.y > size.y * 0.6) tl.y = br.y = Math.min(16, size.y / 10);
    delete o.padding;
    o.paddingTopLeft = tl;
    o.paddingBottomRight = br;
    if (size.x > 0 && size.y > 0 && bounds.isValid()) map.fitBounds(bounds, o);
  }
  GridGov.fitClear = fitClear;

  /** Show a state ("loading" | "ready" | "error") and text in the page's #status element. */
  function setStatus(state, text) {
    const status = document.getElementById("status");
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }
  GridGov.setStatus = setStatus;

  function plural(count, level) {
    return t(level.count, { n: GridGov.number(count) });
  }

  /** "name code" for an area object {code, name} or a dash. */
  function areaText(area) {
    return area ? [area.name, "(" + area.code + ")"].join(" ") : "—";
  }

  function tooltipFor(feature, level) {
    const p = feature.properties || {};
    const code = el("strong", {}, p.code || feature.id);
    return level.level === "grid"
      ? el("span", { className: "gg-tip" }, code, el("br"), p.name || "")
      : el("span", { className: "gg-tip" }, p.name || "", " ", code);
  }

  const METHODS = {
    building: t("via building"),
    inside: t("inside grid"),
    nearest: t("nearest grid"),
    outside: t("no grid here"),
  };

  /** Popup content for a /locate answer. */
  function locateContent(body) {
    const a = body.assignment || {};
    const rows = [
      ["grid", t("Grid")],
      ["community", t("Community")],
      ["street", t("Street")],
      ["district", t("District")],
    ].map(([level, label]) =>
      el("tr", { dataset: { level: level } }, el("th", {}, label), el("td", {}, areaText(a[level])))
    );
    let method = a.method + " · " + (METHODS[a.method] || "");
    if (a.method === "nearest" && a.distance_m) method += " (" + a.distance_m + " m)";
    rows.push(el("tr", {}, el("th", {}, t("Method")), el("td", {}, method)));
    const building = a.building ? a.building.name || "#" + a.building.id : "—";
    rows.push(el("tr", {}, el("th", {}, t("Building")), el("td", {}, building)));
    // near_boundary lists the other grids within a few metres: the point may be theirs.
    const near = (a.near_boundary || []).map((n) => n.code + " (" + n.distance_m.toFixed(1) + " m)");
    if (near.length) {
      rows.push(
        el("tr", { className: "gg-warn", dataset: { level: "near" } }, el("th", {}, t("Near")),
          el("td", {}, near.join(", ")))
      );
    }
    const departments = (body.departments || []).map((d) =>
      el(
        "li", {},
        el("span", { className: "gg-cat" }, (d.category_name || "") + " " + d.category),
        " → ",
        d.department ? d.department.name + " (" + d.department.code + ")" : "—"
      )
    );
    const where = body.location
      ? body.location.lon.toFixed(6) + ", " + body.location.lat.toFixed(6) : "";
    return el(
      "div", { className: "gg-locate" },
      el("table", { className: "gg-assign" }, el("tbody", {}, rows)),
      el("h2", {}, t("Responsible departments")),
      departments.length ? el("ul", { className: "gg-depts" }, departments)
        : el("p", {}, "—"),
      el("p", { className: "gg-where" }, where)
    );
  }

  function errorContent(result) {
    return el("div", { className: "gg-locate gg-error" }, errorMessage(result));
  }

  /** Clicking the map asks /locate who is responsible there and shows it in a popup. */
  function enableLocate(map, api) {
    let latest = 0;
    map.on("click", async (event) => {
      const ticket = (latest += 1);
      const popup = L.popup({ maxWidth: 380, className: "gg-popup" })
        .setLatLng(event.latlng)
        .setContent(el("div", { className: "gg-locate" }, t("Locating…")))
        .openOn(map);
      const point = event.latlng.wrap();
      const url = api + "/locate?lon=" + point.lng.toFixed(7) + "&lat=" + point.lat.toFixed(7);
      let content;
      try {
        const result = await getJSON(url);
        content = result.ok ? locateContent(result.body) : errorContent(result);
      } catch (_networkError) {
        content = errorContent({ status: 0, body: null });
      }
      if (ticket === latest) popup.setContent(content);
    });
  }
  GridGov.enableLocate = enableLocate;

  /** Fill each level's overlay with the current areas from the API. */
  async function loadAreaLevel(map, api, level) {
    const features = await fetchAreas(api, "level=" + encodeURIComponent(level.level));
    const layer = L.geoJSON(
      { type: "FeatureCollection", features: features },
      {
        pane: level.pane,
        style: () => Object.assign({}, level.style),
        onEachFeature: (feature, path) => {
          path.bindTooltip(tooltipFor(feature, level), { sticky: true, className: "gg-tooltip" });
        },
      }
    );
    layer.addTo(window[level.layer]);
    GridGov.layers[level.level] = layer;
    GridGov.counts[level.level] = features.length;
    return layer;
  }
  GridGov.loadAreaLevel = loadAreaLevel;

  // Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop when a canvas feature is clicked; Leaflet 1.9
  // removed it (TypeError on every click). A no-op keeps the click going to the map as well, so
  // map-level handlers (locate) still see it.
  if (window.L && L.DomEvent && !L.DomEvent.fakeStop) L.DomEvent.fakeStop = function () {};

  /** Vector-tile options for VectorGrid: canvas tiles, one style for the layer's features. */
  function tileOptions(name, pane, style, extra) {
    return Object.assign(
      {
        rendererFactory: L.canvas.tile,
        pane: pane,
        interactive: true,
        maxNativeZoom: 22, // the server's default GRIDGOV_TILES_MAX_ZOOM
        vectorTileLayerStyles: { [name]: Object.assign({ fill: true }, style) },
        getFeatureId: (f) => f.properties.code || f.properties.id,
      },
      extra || {}
    );
  }

  /** A hover tooltip for vector-tile features (they are not Leaflet layers one can bind to). */
  function tileTooltip(map, layer, content) {
    const tip = L.tooltip({ sticky: true, className: "gg-tooltip", direction: "auto" });
    layer.on("mouseover mousemove", (event) => {
      if (!event.layer || !event.layer.properties) return;
      tip.setLatLng(event.latlng).setContent(content(event.layer.properties));
      if (!map.hasLayer(tip)) map.openTooltip(tip);
    });
    layer.on("mouseout", () => map.closeTooltip(tip));
  }

  /** Draw a level from /tiles (canvas) instead of GeoJSON; for levels with thousands of areas. */
  function loadAreaTiles(map, level) {
    const name = level.level === "grid" ? "grids" : "areas";
    const layer = L.vectorGrid.protobuf(level.tiles, tileOptions(name, level.pane, level.style));
    tileTooltip(map, layer, (p) => tooltipFor({ properties: p }, level));
    layer.addTo(window[level.layer]);
    GridGov.layers[level.level] = layer;
    return layer;
  }
  GridGov.loadAreaTiles = loadAreaTiles;

  /** Building footprints from /tiles/buildings (only fetched from spec.min_zoom in); context
   * only, not interactive, so hovering and clicking reach the grid underneath. */
  function loadBuildingTiles(map, spec) {
    const layer = L.vectorGrid.protobuf(
      spec.tiles,
      tileOptions("buildings", spec.pane, spec.style, { minZoom: spec.min_zoom, interactive: false })
    );
    layer.addTo(window[spec.layer]);
    GridGov.layers.buildings = layer;
    return layer;
  }
  GridGov.loadBuildingTiles = loadBuildingTiles;

  /** A tile layer's extent from its TileJSON, or null when it is empty or unreachable. */
  async function tileBounds(name) {
    const result = await getJSON("/tiles/" + name + ".json");
    if (!result.ok || !result.body || !result.body.bounds) return null;
    const [x0, y0, x1, y1] = result.body.bounds;
    if (x0 <= -180 && x1 >= 180) return null; // the whole-world answer for an empty layer
    return L.latLngBounds([y0, x0], [y1, x1]);
  }
  GridGov.tileBounds = tileBounds;

  function buildLegend(levels) {
    const legend = document.getElementById("legend");
    if (!legend) return;
    legend.replaceChildren(
      ...levels.map((level) => {
        const swatch = el("span", { className: "gg-swatch" });
        swatch.style.borderColor = level.style.color;
        swatch.style.backgroundColor = level.style.color + "33";
        if (level.style.dashArray) swatch.style.borderStyle = "dashed";
        return el("li", { dataset: { level: level.level } }, swatch, level.label);
      })
    );
  }

  /** The overview page: all area levels, fitted to the data, click to locate. */
  GridGov.pages.overview = async function overview(map, config) {
    buildLegend(config.levels);
    enableLocate(map, config.api);
    let layers;
    try {
      layers = await Promise.all(config.levels.map((lvl) => loadAreaLevel(map, config.api, lvl)));
    } catch (error) {
      setStatus("error", t("Could not load areas:") + " " + error.message);
      return;
    }
    const bounds = L.latLngBounds([]);
    for (const layer of layers) {
      if (layer.getLayers().length) bounds.extend(layer.getBounds());
    }
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], animate: false });
    const summary = config.levels.map((lvl) => plural(GridGov.counts[lvl.level], lvl));
    setStatus("ready", summary.join(" · "));
  };

  function start() {
    const node = document.getElementById("gridgov-config");
    if (!node) return;
    const config = JSON.parse(node.textContent);
    const map = window[config.map];
    const page = GridGov.pages[config.page];
    if (!map || !page) {
      setStatus("error", t("Page failed to start"));
      return;
    }
    GridGov.config = config;
    GridGov.map = map;
    window.gridgovMap = map;
    page(map, config);
  }

  // Signing out drops what the patrol page's service worker kept for offline use (the page and
  // the session of this user; the base map tiles are no one's), then signs out.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList.contains("gg-logout") || !window.caches || form.dataset.cleared) return;
    event.preventDefault();
    const done = () => {
      if (form.dataset.cleared) return;
      form.dataset.cleared = "true";
      form.submit();
    };
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.startsWith("gridgov-patrol-") && !name.includes("tiles"))
        .map((name) => caches.delete(name))))
      .then(done, done);
    setTimeout(done, 1000);
  });

  document.addEventListener("DOMContentLoaded", start);
})();
