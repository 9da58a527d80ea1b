/*
 * GridGov dispatch console: a case's whistles (吹哨) in the case panel, and withdrawing one (撤哨).
 *
 * Each whistle lists its summoned departments with their state in words (awaiting, on time,
 * late, missing, cancelled) and, once ended, why (case closed or rejected, or withdrawn). When the
 * API offers `withdraw_whistle`, its form (plugged into dispatch_case.js through
 * `GridGov.dispatch.extraForms`) picks the open whistle and POSTs /api/v1/whistles/{id}/withdraw.
 * Each whistle's <li> carries data-whistle, data-open and data-end; each check-in data-state.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, dispatch: state } = G;
  const { el, label, when } = state;

  function checkInText(k) {
    const words = label("check_in_states", k.state);
    return (k.name || k.department) + ": " + words + (k.checked_in_at ? " " + when(k.checked_in_at) : "");
  }

  function whistleItem(w) {
    const head = "#" + w.id + " " + when(w.called_at) + " · " + t("deadline {when}", { when: when(w.deadline_at) });
    const end = w.end_reason
      ? el("span", { className: "gg-whistle-end" }, " · " + label("whistle_ends", w.end_reason) + " " + when(w.ended_at))
      : null;
    return el(
      "li",
      { dataset: { whistle: String(w.id), open: w.open ? "true" : "false", end: w.end_reason || "" } },
      head,
      end,
      el(
        "ul",
        {},
        (w.check_ins || []).map((k) => el("li", { dataset: { department: k.department, state: k.state } }, checkInText(k)))
      )
    );
  }

  function whistlesSection(doc) {
    const whistles = doc.whistles || [];
    if (!whistles.length) return null;
    return el(
      "section",
      { className: "gg-section gg-whistles" },
      el("h3", {}, t("Whistles")),
      el("ul", {}, whistles.map(whistleItem))
    );
  }

  state.extraForms = state.extraForms || {};
  state.extraForms.withdraw_whistle = {
    fields: function (doc) {
      const open = (doc.whistles || []).filter((w) => w.open);
      const options = open.map((w) => el("option", { value: String(w.id) }, "#" + w.id + " · " + when(w.called_at)));
      return [
        el("label", {}, t("Whistle to withdraw"), el("select", { name: "whistle" }, options)),
        el("label", {}, t("Note"), el("textarea", { name: "note", rows: "2", maxlength: "4000" })),
      ];
    },
    request: function (data, body) {
      const whistle = String(data.get("whistle") || "");
      if (!whistle) return { error: t("No open whistle to withdraw.") };
      const out = body.note ? { note: body.note } : {};
      return { url: state.api + "/whistles/" + encodeURIComponent(whistle) + "/withdraw", body: out };
    },
  };

  Object.assign(state, { whistlesSection });
})();
