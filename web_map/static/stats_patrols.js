/*
 * GridGov evaluation map (/map/stats): the 大联勤 patrol coverage choropleth, an overlay of the
 * grids coloured by their patrol coverage share over the form's period (docs/metrics.md,
 * "Patrol coverage"): `patrol_coverage` of the grid rows of GET /api/v1/stats?group_by=area&
 * level=grid. A grid nobody patrolled in the period counts as 0 %.
 *
 * State for tests: each grid path carries data-code and data-coverage (0–1);
 * #gg-patrol-legend carries data-state (off, loading, ready, error).
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, el } = G;
  const BREAKS = [0.2, 0.4, 0.6, 0.8];
  const COLORS = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]; // none → all walked
  const P = { grids: null, layer: null, ticket: 0 };

  function colorFor(share) {
    let i = 0;
    while (i < BREAKS.length && share >= BREAKS[i]) i += 1;
    return COLORS[i];
  }

  function legend(state) {
    const node = document.getElementById("gg-patrol-legend");
    node.dataset.state = state;
    node.hidden = state === "off";
    if (state !== "ready") return;
    const pct = (v) => Math.round(v * 100) + "%";
    const entries = COLORS.map((color, i) => [color,
      i === 0 ? "< " + pct(BREAKS[0]) : i === BREAKS.length ? "≥ " + pct(BREAKS[i - 1])
        : pct(BREAKS[i - 1]) + " – " + pct(BREAKS[i])]);
    node.replaceChildren(
      el("li", { className: "gg-legend-title" }, t("Patrol coverage of the grids")),
      ...entries.map(([color, text]) => {
        const swatch = el("span", { className: "gg-swatch" });
        swatch.style.backgroundColor = color;
        return el("li", {}, swatch, text);
      })
    );
  }

  async function draw(map, config, form) {
    const ticket = (P.ticket += 1);
    if (P.layer) {
      P.layer.remove();
      P.layer = null;
    }
    if (!form.patrols.checked) {
      legend("off");
      return;
    }
    legend("loading");
    try {
      const params = "group_by=area&level=grid&from=" + encodeURIComponent(form.from.value)
        + "&to=" + encodeURIComponent(form.to.value);
      const [grids, stats] = await Promise.all([
        P.grids || G.fetchAreas(config.api, "level=grid"),
        G.getJSON(config.api + "/stats?" + params),
      ]);
      P.grids = grids;
      if (!stats.ok) throw new Error(G.errorMessage(stats));
      if (ticket !== P.ticket) return;
      const share = new Map(stats.body.rows.map((r) => [r.code, r.patrol_coverage || 0]));
      P.layer = L.geoJSON({ type: "FeatureCollection", features: grids }, {
        style: (f) => ({
          color: "#333", weight: 1, fillOpacity: 0.65, className: "gg-patrol-coverage",
          fillColor: colorFor(share.get(f.id) || 0),
        }),
        onEachFeature: (f, layer) => {
          const value = share.get(f.id) || 0;
          layer.bindTooltip((f.properties.name || f.id) + " · " + t("patrol coverage") + ": "
            + (value * 100).toFixed(1) + "%", { sticky: true, className: "gg-tooltip" });
          layer.on("add", () => {
            const path = layer.getElement();
            path.dataset.code = f.id;
            path.dataset.coverage = String(value);
          });
        },
      }).addTo(map);
      legend("ready");
    } catch (error) {
      if (ticket === P.ticket) {
        legend("error");
        G.setStatus("error", error.message);
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("gg-stats-form");
    if (!form || !form.patrols) return;
    form.addEventListener("change", (event) => {
      if (["patrols", "from", "to"].includes(event.target.name)) draw(G.map, G.config, form);
    });
  });
})();
