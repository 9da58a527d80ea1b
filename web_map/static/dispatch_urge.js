/*
 * GridGov dispatch console: the 督办/催办 (urge) form, plugged into dispatch_case.js's action
 * forms through `GridGov.dispatch.extraForms`. POST …/actions {action: "urge", note, data.level}.
 */
(function () {
  "use strict";

  const state = window.GridGov.dispatch;
  const el = state.el;
  const t = window.GridGov.t;
  // The page's words (docs/i18n.md: English ids, Chinese in the catalogue).
  const WORDS = {
    level: t("Urge level"),
    cuiban: t("Reminder"),
    duban: t("Supervision"),
    reason: t("Reason for urging"),
    needReason: t("Write why the case is urged."),
  };

  state.extraForms = state.extraForms || {};
  state.extraForms.urge = {
    fields: function () {
      const reason = el("textarea", { name: "note", rows: "3", maxlength: "4000" });
      reason.required = true;
      return [
        el("label", {}, WORDS.level, el("select", { name: "level" },
          el("option", { value: "催办" }, WORDS.cuiban),
          el("option", { value: "督办" }, WORDS.duban))),
        el("label", {}, WORDS.reason + " *", reason),
      ];
    },
    request: function (data, body, base) {
      if (!body.note) return { error: WORDS.needReason };
      body.data.level = String(data.get("level") || "催办");
      return { url: base + "/actions", body: body };
    },
  };
})();
