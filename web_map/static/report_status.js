/*
 * GridGov reporter's pages: /report/{id} (the public outcome of one report and the 回访 rating)
 * and /reports (my reports when signed in; a lookup by tracking id + phone or e-mail).
 *
 * Reads GET /api/v1/reports/{id}: status in words, handling note, a rejection's reason and the
 * original of a duplicate, the deadline, closed or rejected time, public steps only. Rates with
 * POST /api/v1/reports/{id}/rating (the reporter once; an anonymous one proves it with the
 * contact given). API text is only ever inserted as text.
 *
 * State for tests: #gg-track, #gg-rate and #gg-mine carry data-state.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { el, t } = G;
  // The words of these pages (docs/i18n.md: English ids, Chinese in the catalogue).
  const WORDS = {
    id: t("Tracking id"),
    status: t("Status"),
    category: t("Category"),
    description: t("Description"),
    reported: t("Reported at"),
    due: t("Handling deadline"),
    closed: t("Closed at"),
    rejected: t("Not accepted at"),
    note: t("How it was handled"),
    reason: t("Why it was not accepted"),
    original: t("Original report"),
    rating: t("Your rating"),
    loading: t("Loading…"),
    rated: t("Thank you for your rating: "),
    needContact: t("Please give the phone or e-mail you left when reporting"),
    none: t("No records yet"),
    open: t("View"),
  };

  // The API's words for statuses, steps, ratings and rejections, by code, in the page's language
  // (the API's own text, Chinese, is the fallback for a code the page does not know).
  const STATUS_TEXT = {
    reported: t("Received, waiting to be accepted"),
    registered: t("Accepted, waiting to be dispatched"),
    dispatched: t("Sent to the responsible department"),
    in_progress: t("Being handled by the department"),
    handled: t("Handled, waiting for verification"),
    closed: t("Closed"),
    rejected: t("Not accepted"),
    suspended: t("On hold"),
  };
  const STEP_TEXT = {
    report: t("Reported"),
    register: t("Accepted for handling"),
    dispatch: t("Dispatched"),
    accept: t("Taken on by the department"),
    handle: t("Handled"),
    self_handle: t("Handled on the spot by the grid officer"),
    verify: t("Verified"),
    reject: t("Not accepted"),
    suspend: t("Put on hold"),
    reopen: t("Resumed"),
    rate: t("Rated"),
    review: t("Reviewed again after an unsatisfied rating"),
  };
  const RATING_TEXT = {
    satisfied: t("Satisfied"),
    basically_satisfied: t("Basically satisfied"),
    unsatisfied: t("Unsatisfied"),
  };
  const REJECT_TEXT = {
    invalid: t("Checked: not a problem that can be accepted"),
    duplicate: t("A duplicate of a report already accepted; follow the original instead"),
  };
  const word = (table, code, text) => (Object.prototype.hasOwnProperty.call(table, code) ? table[code] : text);

  function when(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return isNaN(date) ? String(iso) : G.when(iso);
  }

  async function sessionToken(config) {
    if (!config.signed_in) return null; // an anonymous visitor: no session to ask about
    const session = await G.getJSON(config.api + "/session");
    return session.ok ? session.body.csrf_token : null;
  }

  function facts(doc) {
    const rows = [
      [WORDS.id, doc.id, "id"],
      [WORDS.status, word(STATUS_TEXT, doc.status, doc.status_text), "status"],
      [WORDS.category, doc.category.name, "category"],
      [WORDS.description, doc.description || "—", "description"],
      [WORDS.reported, when(doc.reported_at), "reported_at"],
    ];
    if (doc.due_at) rows.push([WORDS.due, when(doc.due_at), "due_at"]);
    if (doc.closed_at) rows.push([WORDS.closed, when(doc.closed_at), "closed_at"]);
    if (doc.rejected_at) rows.push([WORDS.rejected, when(doc.rejected_at), "rejected_at"]);
    if (doc.handling_note) rows.push([WORDS.note, doc.handling_note, "handling_note"]);
    const out = rows.flatMap(([term, value, field]) => [
      el("dt", {}, term),
      el("dd", { dataset: { field: field } }, value),
    ]);
    const r = doc.rejection;
    if (r) {
      out.push(el("dt", {}, WORDS.reason), el("dd", { dataset: { field: "rejection" } },
        word(REJECT_TEXT, r.reason, r.reason_text) + (r.note ? "（" + r.note + "）" : "")));
      if (r.duplicate_of) {
        out.push(el("dt", {}, WORDS.original), el("dd", {},
          el("a", { href: r.duplicate_url, dataset: { field: "duplicate_of" } }, r.duplicate_of)));
      }
    }
    if (doc.rating) {
      out.push(el("dt", {}, WORDS.rating), el("dd", { dataset: { field: "rating" } }, word(RATING_TEXT, doc.rating.rating, doc.rating.rating_text)));
    }
    return out;
  }

  G.pages.report_status = async function reportStatus(map, config) {
    const root = document.getElementById("gg-track");
    const rate = document.getElementById("gg-rate");
    const csrf = await sessionToken(config);
    let marker = null;

    function show(doc) {
      document.getElementById("gg-track-facts").replaceChildren(...facts(doc));
      document.getElementById("gg-timeline").replaceChildren(
        ...doc.steps.map((s) =>
          el("li", { dataset: { action: s.action, toStatus: s.status } },
            el("span", { className: "gg-tl-head" }, when(s.at) + " · " + word(STEP_TEXT, s.action, s.action_text)),
            el("span", { className: "gg-tl-move" }, word(STATUS_TEXT, s.status, s.status_text)),
            s.note ? el("span", { className: "gg-tl-note" }, s.note) : null)
        )
      );
      // public photos only (report and after, unless hidden): the API decides
      const shown = doc.photos || [];
      document.getElementById("gg-track-photos").replaceChildren(
        shown.length ? G.photos.gallery(shown, { id: "gg-track-gallery" }) : ""
      );
      rate.hidden = !doc.can_rate;
      rate.dataset.state = doc.can_rate ? "open" : doc.rating ? "done" : "none";
      const c = doc.location && doc.location.coordinates;
      if (c) {
        const latlng = L.latLng(c[1], c[0]);
        if (!marker) {
          marker = L.circleMarker(latlng, { radius: 9, color: "#d62728" }).addTo(map);
          map.setView(latlng, 16, { animate: false });
        }
      }
      root.dataset.status = doc.status;
      root.dataset.state = "ready";
      G.setStatus("ready", word(STATUS_TEXT, doc.status, doc.status_text));
    }

    async function load() {
      root.dataset.state = "loading";
      const answer = await G.getJSON(config.api + "/reports/" + encodeURIComponent(config.incident));
      if (!answer.ok) {
        root.dataset.state = "error";
        G.setStatus("error", G.errorMessage(answer));
        return;
      }
      show(answer.body);
    }

    const form = document.getElementById("gg-rate-form");
    const error = document.getElementById("gg-rate-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = { rating: String(data.get("rating") || "") };
      const comment = String(data.get("comment") || "").trim();
      const contact = String(data.get("contact") || "").trim();
      if (comment) body.comment = comment;
      if (contact) body.contact = contact;
      if (!contact && !csrf) {
        error.textContent = WORDS.needContact;
        error.hidden = false;
        rate.dataset.state = "error";
        return;
      }
      rate.dataset.state = "sending";
      const url = config.api + "/reports/" + encodeURIComponent(config.incident) + "/rating";
      const answer = await G.postJSON(url, body, csrf);
      if (!answer.ok) {
        error.textContent = G.errorMessage(answer);
        error.hidden = false;
        rate.dataset.state = "error";
        return;
      }
      error.hidden = true;
      show(answer.body);
      G.setStatus("ready", WORDS.rated + word(RATING_TEXT, answer.body.rating.rating, answer.body.rating.rating_text));
    });
    document.getElementById("gg-refresh").addEventListener("click", load);
    await load();
  };

  G.pages.report_mine = async function reportMine(map, config) {
    const root = document.getElementById("gg-mine");
    const list = document.getElementById("gg-mine-list");
    const mine = config.signed_in ? await G.getJSON(config.api + "/reports/mine?limit=50") : null;
    if (mine && mine.ok) {
      const items = mine.body.reports.map((r) =>
        el("li", { dataset: { report: r.id, status: r.status } },
          el("a", { href: r.url }, r.id), " · " + r.category_name + " · " + word(STATUS_TEXT, r.status, r.status_text) + " · " + when(r.reported_at))
      );
      list.replaceChildren(...(items.length ? items : [el("li", {}, WORDS.none)]));
      document.getElementById("gg-mine-signed").hidden = false;
    }
    const form = document.getElementById("gg-lookup-form");
    const out = document.getElementById("gg-lookup-result");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = { id: String(data.get("id") || "").trim(), contact: String(data.get("contact") || "").trim() };
      root.dataset.state = "looking";
      const answer = await G.postJSON(config.api + "/reports/lookup", body, null);
      if (!answer.ok) {
        out.replaceChildren(el("p", { className: "gg-error", role: "alert" }, G.errorMessage(answer)));
        root.dataset.state = "not-found";
        return;
      }
      const doc = answer.body;
      out.replaceChildren(el("dl", { className: "gg-facts" }, facts(doc)),
        el("p", {}, el("a", { href: "/report/" + encodeURIComponent(doc.id), dataset: { field: "link" } }, WORDS.open + " " + doc.id)));
      root.dataset.state = "found";
    });
    root.dataset.state = "ready";
  };
})();
