/*
 * GridGov dispatch console: the selected case stands out on the map (a ring around it) and is
 * panned clear of the panels that cover the map, so it is never hidden behind the case panel.
 * Wraps GridGov.dispatch.openIncident; loaded after dispatch_case.js.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const RING = { radius: 20, color: "#ffd400", weight: 4, fill: false, interactive: false, className: "gg-focus" };
  let ring = null;

  /** The part of the map no panel covers, in container pixels. */
  function freeBox(map) {
    const box = map.getContainer().getBoundingClientRect();
    let left = 0;
    let right = box.width;
    let bottom = box.height;
    for (const id of ["gg-console", "gg-case"]) {
      const node = document.getElementById(id);
      if (!node || node.hidden) continue;
      const r = node.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.width > box.width * 0.8) bottom = Math.min(bottom, r.top - box.top); // a phone's sheet
      else if (r.left - box.left < box.width / 2) left = Math.max(left, r.right - box.left);
      else right = Math.min(right, r.left - box.left);
    }
    return { left: left, right: right, top: 0, bottom: bottom };
  }

  /** Ring the case and, when a panel covers it, pan it to the middle of the free part. */
  function focus(id) {
    const state = G.dispatch;
    const feature = state.features.get(id);
    const c = feature && feature.geometry && feature.geometry.coordinates;
    if (!c) return;
    const map = state.map;
    const latlng = L.latLng(c[1], c[0]);
    if (ring) ring.remove();
    ring = L.circleMarker(latlng, RING).addTo(map);
    const free = freeBox(map);
    const at = map.latLngToContainerPoint(latlng);
    const inside = at.x > free.left + 20 && at.x < free.right - 20 && at.y > free.top + 20
      && at.y < free.bottom - 20;
    if (!inside && free.right > free.left && free.bottom > free.top) {
      const middle = L.point((free.left + free.right) / 2, (free.top + free.bottom) / 2);
      map.panBy(at.subtract(middle), { animate: false });
    }
    document.getElementById("gg-case").dataset.focused = id;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const state = G.dispatch;
    if (!state || !state.openIncident) return;
    const open = state.openIncident;
    state.openIncident = async function openAndFocus(id) {
      const done = open(id);
      // after the list click's own zoom (cluster spiderfy or setView) has run
      setTimeout(() => focus(id), 350);
      return done;
    };
  });
})();
