/*
 * GridGov dispatch console: the filter form (#gg-filters) and what it asks the API for.
 *
 * The filters are GET /api/v1/incidents's query parameters; `matches` applies the same rules to a
 * live event's incident. The area picker is searched by name (a datalist of "name · level").
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, dispatch: state } = G;
  const { el, label } = state;
  const { loadIncidents } = state.late("loadIncidents");

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
        const features = await G.fetchAreas(state.api, "level=" + level, 5);
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

  Object.assign(state, { readFilters, filterParams, listUrl, matches, presetFilters, fillFilterLists, fillAreaCodes });
})();
