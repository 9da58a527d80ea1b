/*
 * GridGov evaluation map (/map/stats), on top of gridgov.js (window.GridGov).
 *
 * Areas of the chosen level come from GET /api/v1/areas, their figures from GET /api/v1/stats
 * (group_by=area and group_by=department), the negative list from GET /api/v1/stats/flags and a
 * clicked group's trend from GET /api/v1/stats/trend, drawn here as inline SVG (no chart
 * library). API text is only ever inserted as text.
 *
 * State for tests: #status and #gg-detail carry data-state; each area path carries data-code and
 * data-value; #gg-detail carries data-code; trend bars are svg.gg-trend rect[data-value].
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, el } = G;
  const SVG = "http://www.w3.org/2000/svg";
  const NO_DATA = "#bdbdbd";
  const GOOD_TO_BAD = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027"];
  const BAD_TO_GOOD = GOOD_TO_BAD.slice().reverse();
  const BLUES = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];
  const RATE_BREAKS = { up: [0.6, 0.7, 0.8, 0.9], down: [0.05, 0.1, 0.2, 0.3] };
  const SUMMARY = ["reported", "overdue"]; // table columns besides the chosen metric
  // the name of the row without a group, by grouping (api/services/evaluation/stats.py)
  const NO_GROUP = { department: "not dispatched", area: "no area at this level" };
  // A city's 10,000 grids: the table shows the worst rows (the CSV has them all) and the negative
  // list its first entries, so that the page lays out hundreds of rows, not tens of thousands
  const TABLE_ROWS = 500;
  const FLAG_ROWS = 500;

  const S = {
    config: null,
    map: null,
    api: "/api/v1",
    metrics: new Map(),
    features: [],
    featuresLevel: null,
    layer: null,
    stats: { area: null, department: null },
    tab: "area",
    selected: null,
    hotspots: null,
    ticket: 0,
  };

  // --- formatting and classes -------------------------------------------------------------

  function fmt(metric, value) {
    if (value === null || value === undefined) return "—";
    if (metric.kind === "rate") return (value * 100).toFixed(1) + "%";
    if (metric.kind === "hours") return value.toFixed(2) + " h";
    return String(value);
  }

  /** Five classes: fixed breaks for rates, equal steps up to the maximum for counts/hours. */
  function classesFor(metric, values) {
    if (metric.kind === "rate") {
      const down = metric.good === "down";
      return { breaks: RATE_BREAKS[down ? "down" : "up"], colors: down ? GOOD_TO_BAD : BAD_TO_GOOD };
    }
    const max = Math.max(0, ...values.filter((v) => v !== null && v !== undefined));
    const breaks = max > 0 ? [1, 2, 3, 4].map((i) => (max * i) / 5) : [Infinity];
    const colors = metric.good === "down" ? GOOD_TO_BAD : metric.good === "up" ? BAD_TO_GOOD : BLUES;
    return { breaks: breaks, colors: max > 0 ? colors : [colors[0]] };
  }

  function colorFor(value, cls) {
    if (value === null || value === undefined) return NO_DATA;
    let i = 0;
    while (i < cls.breaks.length && value >= cls.breaks[i]) i += 1;
    return cls.colors[Math.min(i, cls.colors.length - 1)];
  }

  function legendEntries(metric, cls) {
    const show = (v) => (metric.kind === "rate" ? Math.round(v * 100) + "%" : String(+v.toFixed(2)));
    if (!isFinite(cls.breaks[0])) return [[cls.colors[0], "0"]];
    return cls.colors.map((color, i) => {
      if (i === 0) return [color, "< " + show(cls.breaks[0])];
      if (i === cls.breaks.length) return [color, "≥ " + show(cls.breaks[i - 1])];
      return [color, show(cls.breaks[i - 1]) + " – " + show(cls.breaks[i])];
    });
  }

  // --- reading the form and the API -------------------------------------------------------

  function form() {
    return document.getElementById("gg-stats-form");
  }

  function current() {
    const f = form();
    return {
      metric: S.metrics.get(f.metric.value),
      level: f.level.value,
      from: f.from.value,
      to: f.to.value,
    };
  }

  function query(params) {
    return Object.entries(params)
      .filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v))
      .join("&");
  }

  async function api(path, params) {
    const result = await G.getJSON(S.api + path + "?" + query(params));
    if (result.status === 401) {
      window.location.assign(S.config.login);
      throw new Error(t("Please sign in"));
    }
    if (!result.ok) throw new Error(G.errorMessage(result));
    return result.body;
  }

  // --- drawing ----------------------------------------------------------------------------

  function rowsByCode(doc) {
    const rows = new Map();
    for (const row of doc.rows) rows.set(row.code, row);
    return rows;
  }

  function recolor() {
    const { metric } = current();
    const rows = S.stats.area ? rowsByCode(S.stats.area) : new Map();
    const values = S.features.map((f) => (rows.get(f.id) || {})[metric.key]);
    const cls = classesFor(metric, values);
    if (S.layer) {
      S.layer.eachLayer((layer) => {
        const code = layer.feature.id;
        const value = (rows.get(code) || {})[metric.key];
        const selected = S.selected && S.selected.kind === "area" && S.selected.code === code;
        layer.setStyle({
          fillColor: colorFor(value, cls),
          fillOpacity: 0.75,
          color: selected ? "#111" : "#555",
          weight: selected ? 3 : 1,
        });
        const element = layer.getElement();
        if (element) {
          element.dataset.code = code;
          element.dataset.value = value === null || value === undefined ? "" : String(value);
        }
      });
    }
    const legend = document.getElementById("gg-choropleth-legend");
    const entries = legendEntries(metric, cls).concat([[NO_DATA, t("no data")]]);
    legend.replaceChildren(
      el("li", { className: "gg-legend-title" }, metric.label),
      ...entries.map(([color, text]) => {
        const swatch = el("span", { className: "gg-swatch" });
        swatch.style.backgroundColor = color;
        return el("li", {}, swatch, text);
      })
    );
    renderTable();
  }

  function drawAreas(fit) {
    if (S.layer) S.layer.remove();
    S.layer = L.geoJSON(
      { type: "FeatureCollection", features: S.features },
      {
        onEachFeature: (feature, layer) => {
          layer.bindTooltip(() => tooltipFor(feature), { sticky: true, className: "gg-tooltip" });
          layer.on("click", () => select("area", feature.id));
        },
      }
    );
    if (fit && S.layer.getLayers().length) {
      // keep the areas clear of the side panels; the view is set before the areas are added,
      // so that 10,000 paths are drawn once, not drawn and then moved
      const left = document.getElementById("gg-stats").offsetWidth + 20;
      const right = document.getElementById("gg-detail").offsetWidth + 20;
      G.fitClear(S.map, S.layer.getBounds(), {
        paddingTopLeft: [left, 20],
        paddingBottomRight: [right, 20],
      });
    }
    S.layer.addTo(S.map);
  }

  function tooltipFor(feature) {
    const { metric } = current();
    const row = S.stats.area ? rowsByCode(S.stats.area).get(feature.id) : null;
    return el(
      "span", { className: "gg-tip" },
      el("strong", {}, feature.id), " ", (feature.properties || {}).name || "", el("br"),
      metric.label + ": " + fmt(metric, row ? row[metric.key] : null)
    );
  }

  function sortRows(rows, metric) {
    const sign = metric.good === "up" ? 1 : -1; // worst first
    return rows.slice().sort((a, b) => {
      const x = a[metric.key];
      const y = b[metric.key];
      if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
      if (y === null || y === undefined) return -1;
      return sign * (x - y) || String(a.code).localeCompare(String(b.code));
    });
  }

  function renderTable() {
    const doc = S.stats[S.tab];
    const table = document.getElementById("gg-table");
    table.dataset.tab = S.tab;
    const { metric } = current();
    const shown = [metric, ...SUMMARY.filter((k) => k !== metric.key).map((k) => S.metrics.get(k))];
    table.tHead.replaceChildren(
      el("tr", {}, el("th", {}, t("code")), el("th", {}, t("name")),
        shown.map((m) => el("th", { dataset: { metric: m.key } }, m.label)))
    );
    if (!doc) {
      table.tBodies[0].replaceChildren();
      return;
    }
    // the row of facts without a group: not dispatched, or outside every area of the level
    const noGroup = NO_GROUP[doc.group_by] ? t(NO_GROUP[doc.group_by]) : "—";
    const line = (row, total) => {
      const tr = el(
        "tr", { className: total ? "gg-total" : null, dataset: { code: row.code || "" } },
        el("td", {}, row.code || "—"),
        el("td", {}, total ? t("Total") : row.code ? row.name : noGroup),
        shown.map((m) => el("td", { dataset: { metric: m.key } }, fmt(m, row[m.key])))
      );
      if (!total && row.code) tr.addEventListener("click", () => select(S.tab, row.code));
      if (S.selected && S.selected.kind === S.tab && S.selected.code === row.code) {
        tr.classList.add("gg-selected");
      }
      return tr;
    };
    const sorted = sortRows(doc.rows, metric);
    const rows = sorted.slice(0, TABLE_ROWS);
    const picked = S.selected && S.selected.kind === S.tab
      ? sorted.find((row, i) => i >= TABLE_ROWS && row.code === S.selected.code) : null;
    if (picked) rows.push(picked); // the selected group stays in view
    const more = [];
    if (sorted.length > TABLE_ROWS) {
      more.push(el("tr", { className: "gg-more" }, el("td", { colspan: shown.length + 2 },
        t("The {n} worst of {total} rows: the CSV download has them all", {
          n: G.number(TABLE_ROWS), total: G.number(sorted.length) }))));
    }
    table.tBodies[0].replaceChildren(
      ...rows.map((row) => line(row, false)), ...more, line(doc.total, true)
    );
  }

  /** A negative-list reason in the page's language (the API's `message` is for scripts). */
  function reasonText(r) {
    const metric = S.metrics.get(r.metric);
    if (metric && metric.kind === "rate") {
      const sign = metric.good === "down" ? " > " : " < ";
      return metric.label + " " + fmt(metric, r.value) + sign + fmt(metric, r.threshold);
    }
    if (r.metric === "checkin_missed") {
      return t("Check-ins missed: {n} (more than {max})", { n: r.value, max: r.threshold });
    }
    if (r.metric === "patrol_gap_days") {
      return r.value === null
        ? t("Never patrolled (limit: {max} days)", { max: r.threshold })
        : t("Not patrolled for {n} days (more than {max})", { n: r.value, max: r.threshold });
    }
    return r.message;
  }

  function renderFlags(doc) {
    const list = document.getElementById("gg-flag-list");
    if (!doc.flags.length) {
      list.replaceChildren(el("li", { className: "gg-hint" }, t("None")));
      return;
    }
    const items = doc.flags.map((flag) =>
      el(
        "li", { dataset: { kind: flag.kind, code: flag.code } },
        el("strong", {}, flag.name + " (" + flag.code + ")"), ": ",
        flag.reasons.map(reasonText).join("; ")
      )
    );
    const more = doc.matched - doc.flags.length;
    if (more > 0) {
      items.push(el("li", { className: "gg-hint gg-more" },
        t("… and {n} more: the table shows them by the chosen figure", { n: G.number(more) })));
    }
    list.replaceChildren(...items);
  }

  // --- the detail panel and its trend chart ----------------------------------------------

  function trendChart(series, metric) {
    const width = 340;
    const height = 130;
    const pad = { left: 8, right: 8, top: 12, bottom: 22 };
    const values = series.map((s) => s[metric.key]);
    const max = metric.kind === "rate" ? 1 : Math.max(1, ...values.filter((v) => v !== null));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "gg-trend");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", metric.label);
    const slot = (width - pad.left - pad.right) / Math.max(series.length, 1);
    const baseline = height - pad.bottom;
    const axis = document.createElementNS(SVG, "line");
    for (const [k, v] of [["x1", pad.left], ["x2", width - pad.right], ["y1", baseline], ["y2", baseline]]) {
      axis.setAttribute(k, v);
    }
    axis.setAttribute("class", "gg-axis");
    svg.append(axis);
    series.forEach((s, i) => {
      const value = s[metric.key];
      // no figure (nothing due that day): a short grey stub, so it differs from a real 0
      const h = value === null || value === undefined ? 2 : ((baseline - pad.top) * value) / max;
      const bar = document.createElementNS(SVG, "rect");
      bar.setAttribute("x", (pad.left + i * slot + slot * 0.15).toFixed(1));
      bar.setAttribute("width", Math.max(slot * 0.7, 1).toFixed(1));
      bar.setAttribute("y", (baseline - h).toFixed(1));
      bar.setAttribute("height", h.toFixed(1));
      bar.setAttribute("class", value === null || value === undefined ? "gg-bar gg-bar-empty" : "gg-bar");
      bar.dataset.value = value === null || value === undefined ? "" : String(value);
      bar.dataset.from = s.from.slice(0, 10);
      const title = document.createElementNS(SVG, "title");
      title.textContent = s.from.slice(0, 10) + ": " + fmt(metric, value);
      bar.append(title);
      svg.append(bar);
    });
    for (const [x, anchor, text] of [
      [pad.left, "start", series.length ? series[0].from.slice(0, 10) : ""],
      [width - pad.right, "end", series.length ? series[series.length - 1].from.slice(0, 10) : ""],
    ]) {
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("x", x);
      label.setAttribute("y", height - 6);
      label.setAttribute("text-anchor", anchor);
      label.setAttribute("class", "gg-axis-label");
      label.textContent = text;
      svg.append(label);
    }
    return svg;
  }

  async function select(kind, code) {
    S.selected = { kind: kind, code: code };
    recolor();
    const doc = S.stats[kind];
    const row = doc ? rowsByCode(doc).get(code) : null;
    const panel = document.getElementById("gg-detail");
    panel.dataset.state = "loading";
    panel.dataset.code = code;
    panel.dataset.kind = kind;
    const { metric, level, from, to } = current();
    const figures = S.config.metrics.map((m) =>
      el("tr", { dataset: { metric: m.key } }, el("th", {}, m.label), el("td", {}, fmt(m, row ? row[m.key] : null)))
    );
    const chart = el("div", { className: "gg-trend-box" }, t("Loading trend…"));
    panel.replaceChildren(
      el("h2", {}, (row ? row.name : code) + " (" + code + ")"),
      el("h3", {}, t("Trend") + " · " + metric.label),
      chart,
      el("table", { className: "gg-figures" }, el("tbody", {}, figures))
    );
    try {
      const params = { group_by: kind, code: code, from: from, to: to };
      if (kind === "area") params.level = level;
      const trend = await api("/stats/trend", params);
      if (!S.selected || S.selected.code !== code || S.selected.kind !== kind) return;
      chart.replaceChildren(trendChart(trend.series, metric));
      chart.dataset.interval = trend.interval;
      panel.dataset.state = "ready";
    } catch (error) {
      chart.replaceChildren(el("p", { className: "gg-error" }, error.message));
      panel.dataset.state = "error";
    }
  }

  // --- loading ----------------------------------------------------------------------------

  async function load() {
    const ticket = (S.ticket += 1);
    const { level, from, to } = current();
    G.setStatus("loading", t("Loading…"));
    document.getElementById("gg-csv").href =
      S.api + "/stats?" + query({ group_by: S.tab, level: S.tab === "area" ? level : null, from: from, to: to, format: "csv" });
    try {
      const fit = S.featuresLevel === null;
      const [features, byArea, byDepartment, flags] = await Promise.all([
        S.featuresLevel === level
          ? Promise.resolve(S.features)
          : G.fetchAreas(S.api, "level=" + encodeURIComponent(level)),
        api("/stats", { group_by: "area", level: level, from: from, to: to }),
        api("/stats", { group_by: "department", from: from, to: to }),
        // the first FLAG_ROWS flags and how many there are (a month by grid flags thousands)
        api("/stats/flags", { level: level, from: from, to: to, limit: FLAG_ROWS }),
      ]);
      if (ticket !== S.ticket) return;
      if (S.featuresLevel !== level) {
        S.features = features;
        S.featuresLevel = level;
        drawAreas(fit);
      }
      S.stats = { area: byArea, department: byDepartment };
      renderFlags(flags);
      recolor();
      const label = S.config.levels.find((l) => l.level === level).label;
      G.setStatus(
        "ready",
        t("{level}: {n} areas · {reported} reported", {
          level: label, n: G.number(S.features.length), reported: G.number(byArea.total.reported) })
      );
      if (S.selected) select(S.selected.kind, S.selected.code);
    } catch (error) {
      if (ticket === S.ticket) G.setStatus("error", error.message);
    }
  }

  async function toggleHotspots(on) {
    if (S.hotspots) {
      S.hotspots.remove();
      S.hotspots = null;
    }
    if (!on) return;
    // 30 days, the page's default period: an overlay asked for on this page, where a month is
    // the unit of evaluation (the console's always-on overlay uses the API's default week).
    S.hotspots = await G.addHotspotLayer(S.map, {
      api: S.api,
      days: 30,
      timeZone: S.config.timezone,
    });
    if (S.hotspots.error) G.setStatus("error", S.hotspots.error);
  }

  function setUp(config) {
    const f = form();
    const wanted = new URLSearchParams(window.location.search);
    for (const m of config.metrics) {
      S.metrics.set(m.key, m);
      f.metric.append(el("option", { value: m.key }, m.label));
    }
    for (const l of config.levels) f.level.append(el("option", { value: l.level }, l.label));
    const pick = (name, fallback, ok) => (wanted.get(name) && ok(wanted.get(name)) ? wanted.get(name) : fallback);
    f.metric.value = pick("metric", config.defaults.metric, (v) => S.metrics.has(v));
    f.level.value = pick("level", config.defaults.level, (v) => config.levels.some((l) => l.level === v));
    const isDate = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v);
    f.from.value = pick("from", config.period.from, isDate);
    f.to.value = pick("to", config.period.to, isDate);
    f.addEventListener("submit", (event) => event.preventDefault());
    f.metric.addEventListener("change", () => {
      recolor();
      if (S.selected) select(S.selected.kind, S.selected.code);
    });
    f.level.addEventListener("change", () => {
      S.selected = null;
      load();
    });
    f.from.addEventListener("change", load);
    f.to.addEventListener("change", load);
    f.hotspots.addEventListener("change", () => toggleHotspots(f.hotspots.checked));
    for (const button of document.querySelectorAll(".gg-tabs [data-tab]")) {
      button.addEventListener("click", () => {
        S.tab = button.dataset.tab;
        for (const b of document.querySelectorAll(".gg-tabs [data-tab]")) {
          b.setAttribute("aria-selected", String(b === button));
        }
        const { level, from, to } = current();
        document.getElementById("gg-csv").href = S.api + "/stats?" +
          query({ group_by: S.tab, level: S.tab === "area" ? level : null, from: from, to: to, format: "csv" });
        renderTable();
      });
    }
  }

  G.pages.stats = function stats(map, config) {
    S.config = config;
    S.map = map;
    S.api = config.api;
    setUp(config);
    load();
  };
})();
