/*
 * GridGov residents' pages, on top of gridgov.js (window.GridGov).
 *
 * /report: click the map (or use the browser's location) → GET /api/v1/locate says which grid
 * holds the point and which category classes are served there; GET /api/v1/catalogue?area= gives
 * what may be reported in the area holding it (the 4+X rule is the server's, not repeated here)
 * → POST /api/v1/incidents with an Idempotency-Key made once per form, so a
 * double click or a resend after a lost answer cannot create a second report. With a session
 * (a signed-in user) the X-CSRF-Token header goes along and the report is linked to the user.
 *
 * Photos (photos.js): taken or chosen on the form, previewed, removable; sent with the report as
 * one multipart POST (part `report` + `photo` parts) with upload progress. A JPEG that carries
 * GPS offers its place as the location while none is chosen.
 *
 * /report/{id} and /reports (the reporter's view, 回访) are in report_status.js.
 * API text is only ever inserted as text.
 *
 * State for tests: #gg-report, #gg-place and #gg-result carry data-state.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, el } = G;

  function areaText(area) {
    return area ? (area.name ? area.name + " " : "") + "(" + area.code + ")" : "—";
  }

  /** A random key per form: crypto.getRandomValues works on plain-http intranet hosts too. */
  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "report-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function pointIcon() {
    return L.divIcon({
      html: el("span", { className: "gg-pin" }),
      className: "gg-pin-icon",
      iconSize: [18, 18],
      iconAnchor: [9, 9],
    });
  }

  // --- /report -------------------------------------------------------------------------------

  G.pages.report = async function report(map, config) {
    const root = document.getElementById("gg-report");
    const place = document.getElementById("gg-place");
    const form = document.getElementById("gg-report-form");
    const select = document.getElementById("gg-category");
    const error = document.getElementById("gg-report-error");
    const submit = document.getElementById("gg-submit");
    const result = document.getElementById("gg-result");
    const state = { point: null, marker: null, key: newKey(), csrf: null, ticket: 0 };
    G.report = state;

    function setState(value) {
      root.dataset.state = value;
    }

    function showError(text) {
      error.textContent = text;
      error.hidden = !text;
    }

    function setPlace(value, ...content) {
      place.dataset.state = value;
      place.replaceChildren(...content);
    }

    if (config.signed_in) {
      const session = await G.getJSON(config.api + "/session");
      if (session.ok) {
        state.csrf = session.body.csrf_token;
        const who = document.getElementById("gg-who");
        who.textContent = t("Reporting as {name}", { name: session.body.user.name });
        who.hidden = false;
      }
    }
    if (!config.public_reporting && !state.csrf) {
      document.getElementById("gg-closed").hidden = false;
      submit.disabled = true;
    }

    /** The catalogue offered at the point, grouped under the classes served there (in locate's
     * order); a class the catalogue does not offer here is left out. */
    function fillCategories(located, offered) {
      const groups = [];
      for (const major of located.departments || []) {
        const info = offered.find((c) => c.code === major.category);
        if (!info) continue;
        const subs = offered.filter((c) => c.parent === major.category);
        const choices = subs.length ? subs : [info];
        groups.push(
          el(
            "optgroup",
            { label: (major.category_name || major.category) + " " + major.category },
            choices.map((c) => el("option", { value: c.code }, c.name + " (" + c.code + ")"))
          )
        );
      }
      select.replaceChildren(el("option", { value: "" }, t("Choose a category")), ...groups);
      select.disabled = groups.length === 0;
    }

    async function choosePoint(latlng) {
      const ticket = (state.ticket += 1);
      const point = latlng.wrap();
      state.point = { lon: Number(point.lng.toFixed(7)), lat: Number(point.lat.toFixed(7)) };
      state.key = newKey(); // a new place is a new report
      if (!state.marker) state.marker = L.marker(point, { icon: pointIcon(), keyboard: false }).addTo(map);
      else state.marker.setLatLng(point);
      showError("");
      setState("locating");
      setPlace("locating", t("Locating…"));
      select.disabled = true;
      const url = config.api + "/locate?lon=" + state.point.lon + "&lat=" + state.point.lat;
      let located;
      let offered = null;
      try {
        located = await G.getJSON(url);
        if (located.ok) {
          // the catalogue of the area that holds the point (no second spatial lookup)
          const area = (located.body.assignment || {}).responsible_area || "";
          offered = await G.getJSON(config.api + "/catalogue?area=" + encodeURIComponent(area));
          if (!offered.ok) located = offered; // its error, in words
        }
      } catch (failure) {
        located = { ok: false, status: 0, body: null, message: failure.message };
      }
      if (ticket !== state.ticket) return; // a later click won
      if (!located.ok) {
        state.point = null;
        select.replaceChildren(el("option", { value: "" }, t("Choose a place first")));
        setPlace("error", el("span", { className: "gg-error" }, located.message || G.errorMessage(located)));
        setState("outside");
        return;
      }
      fillCategories(located.body, offered.body.categories || []);
      const a = located.body.assignment || {};
      setPlace(
        "located",
        el("span", { dataset: { field: "grid" } }, t("Grid:") + " " + areaText(a.grid)),
        el("br"),
        el("span", {}, t("Community:") + " " + areaText(a.community) + " · " + t("Street:") + " " + areaText(a.street))
      );
      place.dataset.grid = a.grid ? a.grid.code : "";
      setState("located");
    }

    map.on("click", (event) => choosePoint(event.latlng));

    // Photos: previews and removal in photos.js; GPS offered as the place while none is chosen.
    const offer = document.getElementById("gg-gps-offer");
    const progress = document.getElementById("gg-upload");
    const photos = G.photos.picker({
      name: "photo",
      stage: "report",
      onChange: () => {
        state.key = newKey(); // other photos: another report
      },
      onGps: (point) => {
        if (state.point) return;
        const use = el("button", { type: "button", id: "gg-use-gps" }, G.photos.text("use_gps"));
        use.addEventListener("click", () => {
          offer.hidden = true;
          const latlng = L.latLng(point.lat, point.lon);
          map.setView(latlng, Math.max(map.getZoom(), 16));
          choosePoint(latlng);
        });
        offer.replaceChildren(el("span", {}, G.photos.text("gps_found") + " "), use);
        offer.hidden = false;
      },
    });
    document.getElementById("gg-photo-slot").replaceChildren(photos.node);
    state.photos = photos;

    const locateButton = document.getElementById("gg-geolocate");
    /** Centre `latlng` in the part of the map the form does not cover (on a phone the form is a
     * sheet over the bottom half: centred on the whole map, the pin would sit under it). */
    function showAboveSheet(latlng, zoom) {
      map.setView(latlng, zoom, { animate: false });
      const sheet = document.getElementById("gg-report").getBoundingClientRect();
      const box = map.getContainer().getBoundingClientRect();
      const covered = sheet.left <= box.left + 20 && sheet.right >= box.right - 20
        ? Math.max(0, box.bottom - sheet.top) : 0;
      if (covered) map.panBy([0, covered / 2], { animate: false });
    }

    /** The browser's own geolocation errors are English and technical; say what to do instead. */
    function locationFailure(failure) {
      if (!window.isSecureContext) {
        return t("Your browser only shares your location with sites opened over https. Click the map where the problem is instead.");
      }
      if (failure && failure.code === 1) {
        return t("Location access was refused. Allow it in the browser, or click the map where the problem is.");
      }
      return t("Your location could not be found. Click the map where the problem is instead.");
    }

    if (navigator.geolocation) {
      locateButton.hidden = false;
      locateButton.addEventListener("click", () => {
        setPlace("locating", t("Finding your location…"));
        navigator.geolocation.getCurrentPosition(
          (position) => {
            // The Geolocation API speaks WGS 84, the same as the API's default.
            const latlng = L.latLng(position.coords.latitude, position.coords.longitude);
            showAboveSheet(latlng, Math.max(map.getZoom(), 16));
            choosePoint(latlng);
          },
          (failure) => setPlace("error", el("span", { className: "gg-error" }, locationFailure(failure))),
          { enableHighAccuracy: true, timeout: 15000 }
        );
      });
    }

    // Any change makes it a different report: a new key, so it is not mistaken for a resend.
    form.addEventListener("input", () => {
      state.key = newKey();
    });

    function body() {
      const data = new FormData(form);
      const report = {
        category: String(data.get("category") || ""),
        description: String(data.get("description") || ""),
        source: "resident",
        location: { lon: state.point.lon, lat: state.point.lat },
      };
      const reporter = {};
      for (const field of ["name", "phone", "email"]) {
        const value = String(data.get(field) || "").trim();
        if (value) reporter[field] = value;
      }
      // 同意接收进展通知: only with a phone or e-mail to send it to.
      if ((reporter.phone || reporter.email) && data.get("notify") === "yes") reporter.notify = true;
      if (Object.keys(reporter).length) report.reporter = reporter;
      return report;
    }

    function showResult(doc) {
      const a = doc.assignment || {};
      const field = (name) => result.querySelector('[data-field="' + name + '"]');
      field("id").textContent = doc.id;
      field("grid").textContent = areaText(a.grid);
      field("department").textContent = a.department
        ? a.department.name + " (" + a.department.code + ")" : "—";
      field("link").setAttribute("href", "/report/" + encodeURIComponent(doc.id));
      form.hidden = true;
      result.hidden = false;
      result.dataset.state = "created";
      result.dataset.incident = doc.id;
      setState("created");
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (submit.disabled) return;
      if (!state.point) {
        showError(t("Click the map where the problem is first."));
        setState("error");
        return;
      }
      if (!select.value) {
        showError(t("Choose a category."));
        setState("error");
        return;
      }
      showError("");
      submit.disabled = true;
      setState("sending");
      const headers = {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Idempotency-Key": state.key,
      };
      if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
      let answer;
      const files = photos.files();
      if (files.length) {
        // one multipart request: the report and its photos are stored together or not at all
        const data = new FormData();
        data.append("report", JSON.stringify(body()));
        for (const file of files) data.append("photo", file, file.name);
        delete headers["Content-Type"];
        delete headers.Accept;
        answer = await G.photos.send(config.api + "/incidents", data, headers, progress);
      } else try {
        const response = await fetch(config.api + "/incidents", {
          method: "POST",
          headers: headers,
          body: JSON.stringify(body()),
        });
        let parsed = null;
        try {
          parsed = await response.json();
        } catch (_notJson) {
          parsed = null;
        }
        answer = { ok: response.ok, status: response.status, body: parsed };
      } catch (_networkError) {
        answer = { ok: false, status: 0, body: null };
      }
      submit.disabled = false;
      if (!answer.ok) {
        showError(answer.status === 0
          ? t("Network error: please try again.") : G.errorMessage(answer));
        setState("error");
        return;
      }
      showResult(answer.body);
    });

    document.getElementById("gg-again").addEventListener("click", () => {
      form.reset();
      photos.clear();
      offer.hidden = true;
      progress.hidden = true;
      state.key = newKey();
      state.point = null;
      if (state.marker) {
        state.marker.remove();
        state.marker = null;
      }
      select.replaceChildren(el("option", { value: "" }, t("Choose a place first")));
      select.disabled = true;
      setPlace("none", t("No place chosen yet."));
      result.hidden = true;
      result.dataset.state = "none";
      form.hidden = false;
      setState("idle");
    });

    // Start on the service area: the union of the districts, if any.
    try {
      const districts = await G.fetchAreas(config.api, "level=district", 5);
      if (districts.length) {
        const bounds = L.geoJSON({ type: "FeatureCollection", features: districts }).getBounds();
        map.fitBounds(bounds, { padding: [16, 16], animate: false });
      }
    } catch (_ignored) {
      // keep the default view
    }
    const grids = G.loadAreaLevel(map, config.api, config.levels[0]).catch(() => null);
    await grids;
    root.dataset.ready = "true";
  };
})();
