/*
 * The patrol page (/patrol), on top of gridgov.js and patrol_queue.js.
 *
 * Start → the browser's geolocation (watchPosition) gives positions, often every second; the page
 * keeps one every config.fix_every_ms, or sooner once config.fix_min_move_m away from the last
 * kept, writes it to the offline queue (IndexedDB) with its point id and draws it on the map; the
 * distance shown leaves out fixes less accurate than the server's limit (it flags them the same
 * way). "Report" places a problem at the latest position and queues it with its own
 * Idempotency-Key. The queue is uploaded at start and end, every config.upload_every_ms (a few
 * fixes a request, well inside the one minute of "on patrol now"), on each report, and as soon as
 * the browser is back online.
 *
 * State for tests: #gg-patrol data-state (loading, denied, idle, walking), #gg-patrol-sync
 * data-state (sending, queued, synced) and data-queued, #gg-patrol-fixes data-count (kept) and
 * data-seen (positions the browser gave),
 * #gg-patrol-reported data-count. API text is only ever inserted as text.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const t = G.t;
  const PATROL_ROLES = ["officer", "department"];
  const R = 6371008.8; // mean Earth radius, metres (as gis/patrols.py)

  function metres(a, b) {
    const rad = Math.PI / 180;
    const dLat = (b.lat - a.lat) * rad;
    const dLon = (b.lon - a.lon) * rad;
    const h = Math.sin(dLat / 2) ** 2 +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const hh = Math.floor(s / 3600);
    const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
    return hh + ":" + mm + ":" + String(s % 60).padStart(2, "0");
  }

  /** Register the service worker and hand it what this page loaded (it was fetched before the
   * worker ran), so that it is all there the first time the page is opened offline. */
  async function keepForOffline(config) {
    await navigator.serviceWorker.register(config.service_worker, { scope: config.scope });
    const ready = await navigator.serviceWorker.ready;
    if (document.readyState !== "complete") {
      await new Promise((resolve) => window.addEventListener("load", resolve, { once: true }));
    }
    const urls = [location.pathname, config.api + "/session",
      ...performance.getEntriesByType("resource").map((entry) => entry.name)];
    await new Promise((resolve, reject) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = (event) => (event.data && event.data.kept ? resolve() : reject());
      ready.active.postMessage({ keep: urls }, [channel.port2]);
      setTimeout(reject, 30000);
    });
  }

  G.pages.patrol = async function patrol(map, config) {
    const root = document.getElementById("gg-patrol");
    const $ = (id) => document.getElementById(id);
    const startButton = $("gg-patrol-start");
    const stopButton = $("gg-patrol-stop");
    const form = $("gg-patrol-report");
    const select = $("gg-patrol-category");
    const sync = $("gg-patrol-sync");
    const error = $("gg-patrol-error");
    const reported = $("gg-patrol-reported");
    const state = {
      patrol: null, watch: null, timer: null, line: null, marker: null, reported: 0,
      seen: 0, kept: null,
    };
    G.patrol = state;

    function showError(text) {
      error.textContent = text || "";
      error.hidden = !text;
    }

    // The service worker lets this page open offline next time (secure contexts only: https, or
    // the server's own machine); the offline queue works without it.
    if ("serviceWorker" in navigator && window.isSecureContext && config.service_worker) {
      keepForOffline(config).then(
        () => { root.dataset.offline = "ready"; },
        () => { root.dataset.offline = "none"; });
    }

    const session = await G.getJSON(config.api + "/session");
    if (!session.ok) {
      root.dataset.state = "denied";
      showError(G.errorMessage(session));
      return;
    }
    const user = session.body.user;
    const who = $("gg-who");
    who.textContent = user.name + " · " + G.roleLabel(user.role);
    who.hidden = false;
    if (!PATROL_ROLES.includes(user.role)) {
      $("gg-patrol-denied").hidden = false;
      root.dataset.state = "denied";
      return;
    }

    // Start on the user's own area (an officer's grid), else the service area's districts, with
    // the grids drawn for orientation; the first fix then centres the map on the walker.
    (async () => {
      try {
        let bounds = null;
        if (user.area) {
          const own = await G.getJSON(config.api + "/areas/" + encodeURIComponent(user.area));
          if (own.ok && own.body.geometry) bounds = L.geoJSON(own.body).getBounds();
        }
        if (!bounds) {
          const districts = await G.fetchAreas(config.api, "level=district", 5);
          if (districts.length) bounds = L.geoJSON({ type: "FeatureCollection", features: districts }).getBounds();
        }
        if (bounds && !state.marker) {
          // on a phone the panel is a sheet over the lower map: keep the area above it
          const sheet = window.innerWidth < 720 ? root.getBoundingClientRect().height : 0;
          map.fitBounds(bounds, {
            paddingTopLeft: [16, 16], paddingBottomRight: [16, 16 + sheet], maxZoom: 17, animate: false,
          });
        }
      } catch (_ignored) {
        // keep the default view
      }
      G.loadAreaLevel(map, config.api, config.levels[0]).catch(() => null);
    })();

    function showSync(value, counts) {
      sync.dataset.state = value;
      sync.dataset.queued = String(counts.total);
      if (value === "synced") sync.textContent = t("Everything is uploaded.");
      else if (value === "sending") sync.textContent = t("Uploading…");
      else {
        sync.textContent = t("Waiting for the connection: {fixes} fixes and {reports} reports queued on this phone.",
          { fixes: counts.fixes, reports: counts.reports });
      }
    }

    function showReported(doc) {
      state.reported += 1;
      reported.dataset.count = String(state.reported);
      reported.dataset.incident = doc.id;
      reported.textContent = t("Reported: {id}", { id: doc.id });
    }

    const queue = await G.patrolQueue.make({
      api: config.api,
      csrf: session.body.csrf_token,
      user: user.name,
      batchMax: config.batch_max,
      onChange: showSync,
      onProblem: (answer) => showError(G.errorMessage(answer)),
      onReported: showReported,
    });

    // Categories: those offered in the officer's area (or at the first fix), kept for offline use.
    async function loadCategories(query) {
      const cacheKey = "gridgov-patrol-categories";
      let categories = null;
      const answer = await G.getJSON(config.api + "/catalogue?" + query).catch(() => null);
      if (answer && answer.ok) {
        categories = answer.body.categories || [];
        try {
          localStorage.setItem(cacheKey, JSON.stringify(categories));
        } catch (_full) { /* private mode */ }
      } else {
        try {
          categories = JSON.parse(localStorage.getItem(cacheKey) || "null");
        } catch (_bad) { categories = null; }
      }
      if (!categories) return false;
      const parents = new Set(categories.map((c) => c.parent).filter(Boolean));
      const leaves = categories.filter((c) => !parents.has(c.code));
      select.replaceChildren(G.el("option", { value: "" }, t("Choose a category")),
        ...leaves.map((c) => G.el("option", { value: c.code }, c.name + " (" + c.code + ")")));
      select.dataset.loaded = "true";
      return true;
    }
    if (user.area) loadCategories("area=" + encodeURIComponent(user.area));

    function figures() {
      const p = state.patrol;
      const distance = $("gg-patrol-distance");
      const time = $("gg-patrol-time");
      const fixes = $("gg-patrol-fixes");
      if (!p) return;
      distance.dataset.metres = String(Math.round(p.distance_m));
      distance.textContent = p.distance_m >= 1000
        ? t("{km} km", { km: G.number(Math.round(p.distance_m / 10) / 100) })
        : t("{m} m", { m: G.number(Math.round(p.distance_m)) });
      const end = p.ended_at ? new Date(p.ended_at) : new Date();
      const seconds = (end - new Date(p.started_at)) / 1000;
      time.dataset.seconds = String(Math.floor(seconds));
      time.textContent = clock(seconds);
      fixes.dataset.count = String(p.seq);
      fixes.textContent = G.number(p.seq);
    }

    async function onPosition(position) {
      const p = state.patrol;
      if (!p) return;
      const c = position.coords;
      const at = position.timestamp || Date.now();
      const fix = {
        t: new Date(at).toISOString(),
        lon: Number(c.longitude.toFixed(7)),
        lat: Number(c.latitude.toFixed(7)),
        accuracy: c.accuracy === null || c.accuracy === undefined ? null : Math.round(c.accuracy * 10) / 10,
      };
      state.here = fix;
      state.seen += 1;
      $("gg-patrol-fixes").dataset.seen = String(state.seen);
      const kept = state.kept;
      if (kept && at - kept.at < config.fix_every_ms && metres(kept, fix) < config.fix_min_move_m) return;
      state.kept = { at, lon: fix.lon, lat: fix.lat };
      if (fix.accuracy === null || fix.accuracy <= config.max_accuracy_m) {
        if (p.last) p.distance_m += metres(p.last, fix);
        p.last = { lon: fix.lon, lat: fix.lat };
      }
      await queue.addFix(p, fix);
      const latlng = L.latLng(fix.lat, fix.lon);
      if (!state.line) {
        state.line = L.polyline([], { color: "#d62728", weight: 4 }).addTo(map);
        state.marker = L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 2, fillColor: "#d62728", fillOpacity: 1 }).addTo(map);
        map.setView(latlng, Math.max(map.getZoom(), 16), { animate: false });
      }
      state.line.addLatLng(latlng);
      state.marker.setLatLng(latlng);
      figures();
      if (select.dataset.loaded !== "true") loadCategories("lon=" + fix.lon + "&lat=" + fix.lat);
    }

    function walking(p) {
      state.patrol = p;
      state.kept = null;
      root.dataset.state = "walking";
      startButton.hidden = true;
      stopButton.hidden = false;
      form.hidden = false;
      figures();
      state.timer = setInterval(figures, 1000);
      state.sendTimer = setInterval(() => queue.flush(), config.upload_every_ms);
      if (navigator.geolocation) {
        state.watch = navigator.geolocation.watchPosition(onPosition,
          () => showError(t("Your location could not be found: allow location access for this page.")),
          { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
      }
    }

    startButton.addEventListener("click", async () => {
      showError("");
      startButton.disabled = true;
      walking(await queue.start());
      queue.flush();
    });

    stopButton.addEventListener("click", async () => {
      const p = state.patrol;
      if (!p) return;
      if (state.watch !== null) navigator.geolocation.clearWatch(state.watch);
      clearInterval(state.timer);
      clearInterval(state.sendTimer);
      await queue.end(p);
      figures();
      state.patrol = null;
      root.dataset.state = "idle";
      stopButton.hidden = true;
      form.hidden = true;
      startButton.hidden = false;
      startButton.disabled = false;
      queue.flush();
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const p = state.patrol;
      if (!p) return;
      if (!state.here) {
        showError(t("No position yet: wait for the GPS."));
        return;
      }
      if (!select.value) {
        showError(t("Choose a category."));
        return;
      }
      showError("");
      await queue.addReport(p, {
        category: select.value,
        description: String($("gg-patrol-description").value || ""),
        source: "patrol",
        location: { lon: state.here.lon, lat: state.here.lat },
      });
      form.reset();
      reported.textContent = t("Queued: it is sent as soon as the connection allows.");
      queue.flush();
    });

    window.addEventListener("online", () => queue.flush());
    window.addEventListener("offline", () => queue.changed("queued"));

    const running = await queue.current();
    if (running) walking(running);
    startButton.disabled = Boolean(running);
    if (!running) root.dataset.state = "idle";
    await queue.flush();
    root.dataset.ready = "true";
  };
})();
