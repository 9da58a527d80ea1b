/*
 * GridGov photos on the pages (issue 16), on top of gridgov.js: GridGov.photos.
 *
 * - picker(): a file input that takes photos from the phone camera (capture) or the gallery,
 *   shows previews, lets each be removed before sending, and reads EXIF GPS from JPEGs in the
 *   browser so a page can offer "use where the photo was taken" as the location;
 * - send(): a multipart POST by XMLHttpRequest, for its upload progress;
 * - uploadStage(): POST /api/v1/incidents/{id}/photos for one stage, returning the photo ids;
 * - gallery(): an incident's photos by stage, before/after side by side, full size on click.
 *
 * Words come from the page config (web_map/photo_labels.py); API text is only set as text.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const el = G.el;

  function text(key, values) {
    const table = (G.config && G.config.photo_text) || {};
    let out = table[key] || key;
    for (const [name, value] of Object.entries(values || {})) out = out.split("{" + name + "}").join(String(value));
    return out;
  }

  function stageLabel(stage) {
    const entry = ((G.config && G.config.photo_stages) || {})[stage];
    return entry ? entry.label : stage;
  }

  function limits() {
    return (G.config && G.config.photo_limits) || { max: 9, bytes: 10 * 1024 * 1024 };
  }

  // --- EXIF GPS, read in the browser (JPEG APP1 "Exif", TIFF IFD0 → GPS IFD) ------------------

  function exifGps(buffer) {
    const view = new DataView(buffer);
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
    let offset = 2;
    while (offset + 4 <= view.byteLength) {
      const marker = view.getUint16(offset);
      const size = view.getUint16(offset + 2);
      if (marker === 0xffe1 && view.getUint32(offset + 4) === 0x45786966) return tiffGps(view, offset + 10);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null; // image data: no EXIF
      offset += 2 + size;
    }
    return null;
  }

  function tiffGps(view, start) {
    const little = view.getUint16(start) === 0x4949;
    const u16 = (at) => view.getUint16(start + at, little);
    const u32 = (at) => view.getUint32(start + at, little);
    const entries = (ifd) => {
      const out = {};
      const count = u16(ifd);
      for (let i = 0; i < count; i += 1) {
        const at = ifd + 2 + i * 12;
        out[u16(at)] = { type: u16(at + 2), count: u32(at + 4), value: at + 8 };
      }
      return out;
    };
    const ifd0 = entries(u32(4));
    if (!ifd0[0x8825]) return null;
    const gps = entries(u32(ifd0[0x8825].value));
    const ascii = (tag) => (gps[tag] ? String.fromCharCode(view.getUint8(start + gps[tag].value)) : "");
    const dms = (tag) => {
      if (!gps[tag] || gps[tag].type !== 5 || gps[tag].count !== 3) return null;
      const base = u32(gps[tag].value);
      let degrees = 0;
      for (let i = 0; i < 3; i += 1) {
        const den = u32(base + i * 8 + 4);
        if (!den) return null;
        degrees += u32(base + i * 8) / den / Math.pow(60, i);
      }
      return degrees;
    };
    let lat = dms(2);
    let lon = dms(4);
    if (lat === null || lon === null || (lat === 0 && lon === 0)) return null;
    if (ascii(1) === "S") lat = -lat;
    if (ascii(3) === "W") lon = -lon;
    return Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? { lon: lon, lat: lat } : null;
  }

  async function gpsOf(file) {
    try {
      return exifGps(await file.slice(0, 256 * 1024).arrayBuffer());
    } catch (_notReadable) {
      return null;
    }
  }

  // --- the picker ------------------------------------------------------------------------------

  /** A photo input with previews; opts: {name, caption, onGps(point, file), onChange(files)}. */
  function picker(opts) {
    const files = [];
    const urls = new Map();
    // Two inputs: with `capture` a phone opens its camera directly (and offers no gallery), so
    // taking a photo and choosing saved ones are separate buttons.
    const camera = el("input", {
      type: "file",
      accept: "image/*",
      capture: "environment",
      className: "gg-photo-input gg-photo-camera",
    });
    const input = el("input", {
      type: "file",
      accept: "image/*",
      multiple: "multiple",
      name: opts.name || "photo",
      className: "gg-photo-input gg-photo-gallery",
    });
    const previews = el("ul", { className: "gg-photo-previews", dataset: { count: "0" } });
    const problem = el("p", { className: "gg-error", role: "alert", hidden: "hidden" });
    const node = el(
      "fieldset",
      { className: "gg-photo-picker", dataset: { stage: opts.stage || "" } },
      el("legend", {}, opts.caption || text("photos")),
      el("label", { className: "gg-photo-add" }, text("camera"), camera),
      el("label", { className: "gg-photo-add" }, text("add"), input),
      previews,
      problem
    );

    function render() {
      previews.replaceChildren(
        ...files.map((file, index) => {
          if (!urls.has(file)) urls.set(file, URL.createObjectURL(file));
          const remove = el("button", { type: "button", className: "gg-photo-remove", dataset: { index: String(index) } }, text("remove"));
          remove.addEventListener("click", () => {
            URL.revokeObjectURL(urls.get(file));
            urls.delete(file);
            files.splice(files.indexOf(file), 1);
            render();
          });
          return el("li", { className: "gg-photo-preview" }, el("img", { src: urls.get(file), alt: file.name }), remove);
        })
      );
      previews.dataset.count = String(files.length);
      if (opts.onChange) opts.onChange(files.slice());
    }

    async function onChosen(event) {
      const source = event.target;
      const chosen = Array.from(source.files || []);
      source.value = ""; // the same file may be chosen again after removing it
      const max = limits();
      problem.hidden = true;
      for (const file of chosen) {
        if (files.length >= max.max) {
          problem.textContent = text("too_many", { max: max.max });
          problem.hidden = false;
          break;
        }
        if (file.size > max.bytes) {
          problem.textContent = text("too_big", { mb: Math.round(max.bytes / 1048576) });
          problem.hidden = false;
          continue;
        }
        files.push(file);
        if (opts.onGps) {
          const point = await gpsOf(file);
          if (point) opts.onGps(point, file);
        }
      }
      render();
    }
    camera.addEventListener("change", onChosen);
    input.addEventListener("change", onChosen);

    return {
      node: node,
      files: () => files.slice(),
      clear() {
        for (const url of urls.values()) URL.revokeObjectURL(url);
        urls.clear();
        files.length = 0;
        render();
      },
    };
  }

  // --- sending ---------------------------------------------------------------------------------

  /** POST a FormData with progress: resolves {ok, status, body} like GridGov.getJSON. */
  function send(url, data, headers, progress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      for (const [name, value] of Object.entries(headers || {})) xhr.setRequestHeader(name, value);
      xhr.setRequestHeader("Accept", "application/json");
      if (progress) {
        progress.hidden = false;
        progress.value = 0;
        xhr.upload.addEventListener("progress", (event) => {
          if (event.lengthComputable) progress.value = event.loaded / event.total;
        });
      }
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (_notJson) {
          body = null;
        }
        if (progress) progress.value = 1;
        resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, body: body });
      });
      xhr.addEventListener("error", () => resolve({ ok: false, status: 0, body: null }));
      xhr.send(data);
    });
  }

  function progressBar() {
    return el("progress", { className: "gg-photo-progress", max: "1", value: "0", hidden: "hidden" });
  }

  /** Upload files as one stage of an incident; {ok, ids} or {ok: false, result}. */
  async function uploadStage(api, incident, stage, files, csrf, progress) {
    if (!files.length) return { ok: true, ids: [] };
    const data = new FormData();
    data.append("stage", stage);
    for (const file of files) data.append("photo", file, file.name);
    const headers = csrf ? { "X-CSRF-Token": csrf } : {};
    const result = await send(api + "/incidents/" + encodeURIComponent(incident) + "/photos", data, headers, progress);
    if (!result.ok) return { ok: false, result: result };
    return { ok: true, ids: (result.body.photos || []).map((p) => p.id) };
  }

  // --- the gallery -----------------------------------------------------------------------------

  /** Staff: hide a public photo with a reason (POST /api/v1/photos/{id}/hide). */
  function hideForm(photo, hide, done) {
    const reason = el("input", { name: "reason", maxlength: "500", required: "required", placeholder: text("hide_reason") });
    const problem = el("span", { className: "gg-error", role: "alert" });
    const form = el("form", { className: "gg-photo-hide" }, reason, el("button", { type: "submit" }, text("hide")), problem);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = await hide.post(hide.api + "/photos/" + photo.id + "/hide", { reason: reason.value.trim() });
      if (!result.ok) {
        problem.textContent = G.errorMessage(result);
        return;
      }
      done();
      hide.after();
    });
    return form;
  }

  function lightbox(photo, hide) {
    const close = el("button", { type: "button", className: "gg-lightbox-close" }, text("close"));
    const caption = [stageLabel(photo.stage), photo.uploaded_at ? new Date(photo.uploaded_at).toLocaleString("zh-CN", { hour12: false }) : ""];
    if (photo.captured_at) caption.push(text("taken") + " " + new Date(photo.captured_at).toLocaleString("zh-CN", { hour12: false }));
    if (photo.uploaded_by) caption.push(text("by") + " " + photo.uploaded_by);
    const box = el(
      "div",
      { className: "gg-lightbox", role: "dialog", "aria-modal": "true", dataset: { photo: String(photo.id) } },
      el("img", { src: photo.url, alt: stageLabel(photo.stage) }),
      el("p", { className: "gg-lightbox-caption" }, caption.filter(Boolean).join(" · ")),
      close
    );
    const publicStage = photo.stage === "report" || photo.stage === "after";
    if (hide && publicStage && !photo.hidden) box.insertBefore(hideForm(photo, hide, () => done()), close);
    const done = () => {
      box.remove();
      document.removeEventListener("keydown", onKey);
    };
    const onKey = (event) => {
      if (event.key === "Escape") done();
    };
    box.addEventListener("click", (event) => {
      if (event.target === box || event.target === close) done();
    });
    document.addEventListener("keydown", onKey);
    document.body.append(box);
    close.focus();
  }

  function thumb(photo, hide) {
    const link = el(
      "a",
      {
        href: photo.url,
        className: "gg-photo" + (photo.hidden ? " gg-photo-hidden" : ""),
        dataset: { photo: String(photo.id), stage: photo.stage },
        title: photo.hidden ? text("hidden") + ": " + (photo.hidden_reason || "") : stageLabel(photo.stage),
      },
      el("img", { src: photo.thumb_url, alt: stageLabel(photo.stage), loading: "lazy" }),
      photo.hidden ? el("span", { className: "gg-photo-flag" }, text("hidden")) : null
    );
    link.addEventListener("click", (event) => {
      event.preventDefault();
      lightbox(photo, hide);
    });
    return link;
  }

  function group(stage, photos, hide) {
    return el(
      "div",
      { className: "gg-photo-stage", dataset: { stage: stage } },
      el("h4", {}, stageLabel(stage) + " (" + photos.length + ")"),
      el("div", { className: "gg-photo-row" }, photos.map((p) => thumb(p, hide)))
    );
  }

  /** The photos of one incident by stage; before and after side by side. opts.hide: staff may
   * hide public photos ({api, post, after}: the API root, a CSRF-aware POST, then a refresh). */
  function gallery(photos, opts) {
    const hide = (opts && opts.hide) || null;
    const by = {};
    for (const photo of photos || []) (by[photo.stage] = by[photo.stage] || []).push(photo);
    const parts = [];
    for (const stage of ["report", "info"]) if (by[stage]) parts.push(group(stage, by[stage], hide));
    if (by.before || by.after) {
      parts.push(
        el(
          "div",
          { className: "gg-photo-pair", "aria-label": text("before_after") },
          group("before", by.before || [], hide),
          group("after", by.after || [], hide)
        )
      );
    }
    if (by.verify) parts.push(group("verify", by.verify, hide));
    return el(
      "section",
      { className: "gg-section gg-gallery", id: (opts && opts.id) || "gg-gallery", dataset: { count: String((photos || []).length) } },
      el("h3", {}, text("photos")),
      parts.length ? parts : el("p", { className: "gg-hint" }, text("none"))
    );
  }

  G.photos = { picker, send, uploadStage, gallery, gpsOf, progressBar, text, stageLabel };
})();

/* Photo inputs of the dispatch console's action forms (dispatch_case.js): one picker per stage
 * the action's photos are uploaded as (config.photo_action_stages), uploaded before the action
 * is sent so the action can name them in data.photo_ids. */
(function () {
  "use strict";

  const G = window.GridGov;
  const P = G.photos;

  /** Pickers for an action's form, kept on `holder.photoPickers`; their nodes. */
  function formPickers(holder, action) {
    const stages = ((G.config && G.config.photo_action_stages) || {})[action] || [];
    holder.photoPickers = stages.map((stage) => ({ stage: stage, picker: P.picker({ name: "photo_" + stage, stage: stage, caption: P.stageLabel(stage) }) }));
    holder.photoIds = [];
    holder.photoProgress = P.progressBar();
    return stages.length ? [...holder.photoPickers.map((p) => p.picker.node), holder.photoProgress] : [];
  }

  /** Upload what the pickers hold; {ok, ids} (every id uploaded for this form) or {ok: false, result}. */
  async function uploadPickers(api, incident, holder, csrf) {
    holder.photoIds = holder.photoIds || [];
    for (const entry of holder.photoPickers || []) {
      const sent = await P.uploadStage(api, incident, entry.stage, entry.picker.files(), csrf, holder.photoProgress);
      if (!sent.ok) return sent;
      holder.photoIds.push(...sent.ids);
      entry.picker.clear(); // uploaded: a retry of the action must not upload them again
    }
    return { ok: true, ids: holder.photoIds.slice() };
  }

  Object.assign(P, { formPickers, uploadPickers });
})();
