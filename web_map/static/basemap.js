/* The base map switch: base map (GridGov's own, or GRIDGOV_BASEMAP_URL) or plain ground.
 * Reads <script type="application/json" id="gridgov-basemap"> written by web_map/pages.py; the
 * choice is remembered per browser. `document.body.dataset.basemap` says which is shown. */
(function () {
  "use strict";
  const KEY = "gridgov.basemap";

  function remembered() {
    try {
      return window.localStorage.getItem(KEY) !== "off";
    } catch (e) {
      return true; // storage refused (private mode): the base map is the default
    }
  }

  function start() {
    const node = document.getElementById("gridgov-basemap");
    if (!node) return;
    const cfg = JSON.parse(node.textContent);
    const map = window[cfg.map];
    const layer = window[cfg.layer];
    if (!map || !layer) return;

    function show(on) {
      if (on) layer.addTo(map);
      else map.removeLayer(layer);
      document.body.dataset.basemap = on ? "on" : "off";
      try {
        window.localStorage.setItem(KEY, on ? "on" : "off");
      } catch (e) {
        /* not remembered; still switched */
      }
    }

    const Switch = L.Control.extend({
      options: { position: "topleft" }, // under the zoom buttons: clear of the pages' panels
      onAdd: function () {
        const box = L.DomUtil.create("label", "leaflet-control-layers gg-basemap-switch");
        box.title = cfg.title;
        box.style.padding = "2px 8px";
        box.style.cursor = "pointer";
        const input = L.DomUtil.create("input", "", box);
        input.type = "checkbox";
        input.id = "gg-basemap-toggle";
        input.checked = remembered();
        input.addEventListener("change", function () {
          show(input.checked);
        });
        box.appendChild(document.createTextNode(" " + cfg.switch));
        L.DomEvent.disableClickPropagation(box);
        return box;
      },
    });
    new Switch().addTo(map);
    show(remembered());
  }

  document.addEventListener("DOMContentLoaded", start);
})();
