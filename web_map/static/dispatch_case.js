/*
 * GridGov dispatch console: the case panel (#gg-case) of one incident, and its action forms.
 *
 * Shows GET /api/v1/incidents/{id}: description, category, source, the assignment explanation
 * (method, distance, near-boundary grids, routing rule), whistles and the timeline, and offers
 * a button for each of its `allowed_actions`. Each action opens a small form for what it needs
 * (department, note, data) and is POSTed with the session's X-CSRF-Token; whistle and check-in
 * go to their own endpoints. Loaded after dispatch.js, whose `GridGov.dispatch` it extends.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, dispatch: state } = G;
  const { el, label, statusColor, when, departmentText, areaText, post, problemText } = state;
  const upsert = (feature) => state.upsert(feature);
  // events by someone not signed in (a resident's report, an Open311 app) carry the actor "public"
  const actorText = (actor) => (actor === "public" ? t("Public (not signed in)") : actor);
  const renderListSoon = () => state.renderListSoon();
  const whistlesSection = (doc) => state.whistlesSection(doc); // dispatch_whistles.js

  function panel() {
    return document.getElementById("gg-case");
  }

  async function openIncident(id) {
    state.selected = id;
    state.formOpen = false;
    state.docSignature = "";
    const node = panel();
    node.dataset.state = "loading";
    node.dataset.incident = id;
    node.replaceChildren(el("p", { className: "gg-hint" }, t("Loading {id}…", { id: id })));
    renderListSoon();
    await refreshDetail(true);
  }

  async function refreshDetail(force) {
    const id = state.selected;
    if (!id) return;
    if (state.formOpen && !force) {
      state.staleDetail = true; // do not wipe a form being filled in; refresh when it closes
      return;
    }
    const ticket = (state.detailTicket += 1);
    const result = await G.getJSON(state.api + "/incidents/" + encodeURIComponent(id));
    if (ticket !== state.detailTicket || id !== state.selected) return;
    if (!result.ok) {
      const node = panel();
      node.dataset.state = "error";
      node.replaceChildren(el("p", { className: "gg-error", role: "alert" }, problemText(result)));
      return;
    }
    showDoc(result.body);
  }

  function showDoc(doc) {
    const signature = JSON.stringify(doc);
    state.staleDetail = false;
    if (signature === state.docSignature && panel().dataset.state === "ready") return;
    state.doc = doc;
    state.docSignature = signature;
    state.formOpen = false;
    renderCase(doc);
    syncMarker(doc);
  }

  /** Bring the list's marker in line with a fresher incident document. */
  function syncMarker(doc) {
    if ((doc.whistles || []).some((w) => w.open)) state.whistled.add(doc.id);
    else state.whistled.delete(doc.id);
    upsert(state.featureFromDoc(doc));
    renderListSoon();
  }

  function fact(term, value, field) {
    return [el("dt", {}, term), el("dd", { dataset: field ? { field: field } : null }, value)];
  }

  function explanation(doc) {
    const a = doc.assignment || {};
    const method = a.method ? label("methods", a.method) : "—";
    const distance = a.method === "nearest" || a.method === "outside"
      ? " (" + Number(a.distance_m || 0).toFixed(1) + " m)" : "";
    const rows = [
      ...fact(t("Method"), method + distance, "method"),
      ...fact(t("Grid"), areaText(a.grid), "grid"),
      ...fact(t("Community"), areaText(a.community)),
      ...fact(t("Street"), areaText(a.street)),
      ...fact(t("District"), areaText(a.district)),
    ];
    if (a.building) {
      rows.push(...fact(t("Building"), a.building.name || "#" + a.building.id));
    }
    const near = (a.near_boundary || []).map((n) => n.code + " (" + Number(n.distance_m).toFixed(1) + " m)");
    rows.push(...fact(t("Near boundary"), near.length ? near.join(", ") : "—", "near"));
    let rule;
    if (a.rule) {
      rule = t("#{id}: category {category} + area {area} → {department} (priority {priority})", {
        id: a.rule.id, category: a.rule.category_prefix || "*", area: a.rule.area_prefix || "*",
        department: departmentText(a.department && a.department.code), priority: a.rule.priority,
      });
    } else {
      rule = t("No rule matched: the territorial unit →") + " "
        + departmentText(a.department && a.department.code);
    }
    rows.push(...fact(t("Rule"), rule, "rule"));
    return el(
      "section",
      { className: "gg-section gg-explain", dataset: { method: a.method || "" } },
      el("h3", {}, t("Why here and why them")),
      el("dl", { className: "gg-facts" }, rows)
    );
  }

  function timeline(doc) {
    const items = (doc.events || []).map((e) => {
      const parts = [when(e.at), label("actions", e.action)];
      const move = e.from_status && e.from_status !== e.to_status
        ? label("statuses", e.from_status) + " → " + label("statuses", e.to_status)
        : label("statuses", e.to_status);
      return el(
        "li",
        { dataset: { action: e.action, toStatus: e.to_status, event: String(e.id) } },
        el("span", { className: "gg-tl-head" }, parts.join(" · ")),
        el("span", { className: "gg-tl-move" }, move),
        e.department ? el("span", { className: "gg-tl-dept" }, departmentText(e.department)) : null,
        e.actor ? el("span", { className: "gg-tl-actor" }, actorText(e.actor)) : null,
        e.note ? el("span", { className: "gg-tl-note" }, e.note) : null
      );
    });
    return el(
      "section",
      { className: "gg-section" },
      el("h3", {}, t("Timeline")),
      el("ol", { id: "gg-timeline", className: "gg-timeline" }, items)
    );
  }

  function renderCase(doc) {
    const node = panel();
    const lead = doc.departments ? doc.departments.lead : null;
    const supporting = (doc.departments && doc.departments.supporting) || [];
    const whistled = (doc.whistles || []).some((w) => w.open);
    const badge = el("span", { className: "gg-badge", dataset: { status: doc.status } }, label("statuses", doc.status));
    badge.style.backgroundColor = statusColor(doc.status);
    const facts = [
      ...fact(t("Category"), doc.category.name + " (" + doc.category.code + ")", "category"),
      ...fact(t("Source"), label("sources", doc.source), "source"),
      ...fact(t("Reported at"), when(doc.reported_at), "reported_at"),
      ...fact(t("Due"), when(doc.due_at), "due_at"),
      ...fact(t("Responsible department"), departmentText(lead), "department"),
    ];
    if (supporting.length) {
      facts.push(...fact(t("Supporting"), supporting.map((s) =>
        (s.name || s.code) + (s.acknowledged_at ? " ✓" : "")).join(", ")));
    }
    facts.push(...fact(t("Responsible area"), areaText(doc.responsible_area), "responsible_area"));
    if (doc.escalation_level) facts.push(...fact(t("Escalations"), String(doc.escalation_level)));
    if (doc.rework_count) facts.push(...fact(t("Rework"), String(doc.rework_count)));
    if (doc.urge_count) facts.push(...fact(t("Urged"), t("{n} times", { n: doc.urge_count }), "urge_count"));
    if (doc.extension_request) {
      facts.push(...fact(t("Extension asked"), when(doc.extension_request.until)));
    }
    const actions = (doc.allowed_actions || []).map((action) =>
      el("button", { type: "button", className: "gg-action", dataset: { action: action } }, label("actions", action))
    );
    const parts = [
      el(
        "header",
        { className: "gg-case-head" },
        el("h2", {}, doc.id),
        badge,
        doc.overdue ? el("span", { className: "gg-flag gg-flag-overdue" }, t("Overdue")) : null,
        whistled ? el("span", { className: "gg-flag gg-flag-whistle" }, t("Whistled")) : null,
        el("button", { type: "button", className: "gg-close", "aria-label": t("Close") }, "×")
      ),
      el("p", { className: "gg-desc", dataset: { field: "description" } }, doc.description || t("(no description)")),
      el("dl", { className: "gg-facts" }, facts),
      explanation(doc),
      G.photos.gallery(doc.photos, { hide: ["admin", "dispatcher", "officer"].includes(state.user.role) ? { api: state.api, post, after: () => refreshDetail(true) } : null }),
      el("p", {}, el("a", { href: "/cases/" + encodeURIComponent(doc.id) + "/print", target: "_blank", id: "gg-print" }, G.photos.text("print"))),
      whistlesSection(doc),
      el(
        "section",
        { className: "gg-section" },
        el("h3", {}, t("Actions")),
        el("div", { id: "gg-actions", className: "gg-actions" },
          actions.length ? actions : el("p", { className: "gg-hint" }, t("Nothing for you to do now."))),
        el("div", { id: "gg-form-slot" })
      ),
      timeline(doc),
    ];
    node.replaceChildren(...parts.filter(Boolean)); // DOM replaceChildren would print null
    node.dataset.incident = doc.id;
    node.dataset.status = doc.status;
    node.dataset.state = "ready";
    if (["reported", "registered"].includes(doc.status)) showDuplicates(doc.id);
    for (const extra of state.caseExtras || []) extra(doc, node); // e.g. dispatch_patrols.js
  }

  /** 源头治理: open incidents of the same category close by, so a duplicate can be rejected. */
  async function showDuplicates(id) {
    const result = await G.getJSON(
      state.api + "/incidents/" + encodeURIComponent(id) + "/possible-duplicates"
    );
    const items = result.ok ? result.body.possible_duplicates || [] : [];
    if (!items.length || state.selected !== id || panel().dataset.incident !== id) return;
    const list = items.map((d) =>
      el("li", { dataset: { duplicate: String(d.id) } },
        String(d.id) + " · " + label("statuses", d.status) + " · " +
        Math.round(d.distance_m) + " m · " + d.age_hours + " h")
    );
    const section = el("section", { className: "gg-section", id: "gg-duplicates" },
      el("h3", {}, t("Possible duplicates")), el("ul", {}, list));
    const actions = document.getElementById("gg-actions");
    if (actions && actions.parentNode) actions.parentNode.before(section);
  }

  // --- action forms --------------------------------------------------------------------------

  function textField(name, caption, required, multiline) {
    const input = multiline
      ? el("textarea", { name: name, rows: "3", maxlength: "4000" })
      : el("input", { name: name, maxlength: "200" });
    if (required) input.required = true;
    return el("label", {}, caption + (required ? " *" : ""), input);
  }

  function departmentSelect(name, caption, selected, codes) {
    const options = (codes || Array.from(state.departments.keys())).map((code) =>
      el("option", { value: code, selected: code === selected ? "selected" : null }, departmentText(code))
    );
    return el("label", {}, caption, el("select", { name: name }, options));
  }

  function departmentChecks(name, caption, exclude) {
    const boxes = Array.from(state.departments.keys())
      .filter((code) => code !== exclude)
      .map((code) => el("label", { className: "gg-check" }, el("input", { type: "checkbox", name: name, value: code }), departmentText(code)));
    return el("fieldset", { className: "gg-checks" }, el("legend", {}, caption), boxes);
  }

  function noteField(action) {
    const needs = {
      return: t("Reason (not ours because…)"),
      handle: t("What was done"),
      self_handle: t("What was done"),
      request_extension: t("Reason for the extension"),
      suspend: t("Reason for suspending"),
      escalate: t("Reason for escalating"),
      add_info: t("Information"),
    };
    return needs[action] ? textField("note", needs[action], true, true) : textField("note", t("Note"), false, true);
  }

  function pendingCheckIns(doc) {
    const mine = state.user.role === "department" ? state.user.department : null;
    const out = [];
    for (const w of doc.whistles || []) {
      for (const k of w.check_ins || []) {
        if (!k.checked_in_at && (!mine || k.department === mine)) out.push({ whistle: w.id, department: k.department });
      }
    }
    return out;
  }

  /** The inputs each action asks for (see the README's "What an action needs"). */
  function fieldsFor(action, doc) {
    const routed = doc.assignment && doc.assignment.department ? doc.assignment.department.code : null;
    const lead = (doc.departments && doc.departments.lead) || routed;
    switch (action) {
      case "reject":
        return [
          el("label", {}, t("Reason"), el("select", { name: "reason" },
            el("option", { value: "invalid" }, t("Invalid")),
            el("option", { value: "duplicate" }, t("Duplicate")))),
          textField("duplicate_of", t("Duplicate of (incident id)"), false, false),
          noteField(action),
        ];
      case "dispatch":
        return [
          departmentSelect("department", t("Lead department"), lead),
          departmentChecks("supporting", t("Supporting departments (optional)"), null),
          noteField(action),
        ];
      case "handle":
      case "self_handle":
      case "add_info":
        return [noteField(action), ...G.photos.formPickers(state, action)];
      case "verify":
        return [
          el("fieldset", { className: "gg-checks" }, el("legend", {}, t("Result")),
            el("label", { className: "gg-check" }, el("input", { type: "radio", name: "passed", value: "true", checked: "checked" }), t("Passed: close")),
            el("label", { className: "gg-check" }, el("input", { type: "radio", name: "passed", value: "false" }), t("Failed: rework"))),
          noteField(action),
          ...G.photos.formPickers(state, action),
        ];
      case "request_extension":
        return [el("label", {}, t("Until *"), el("input", { type: "datetime-local", name: "until", required: "required" })), noteField(action)];
      case "approve_extension":
        return [
          el("label", { className: "gg-check" }, el("input", { type: "checkbox", name: "approved", value: "true", checked: "checked" }), t("Approve")),
          el("label", {}, t("Other date (optional)"), el("input", { type: "datetime-local", name: "until" })),
          noteField(action),
        ];
      case "acknowledge":
        if (state.user.role === "admin") {
          const pending = ((doc.departments && doc.departments.supporting) || []).filter((s) => !s.acknowledged_at).map((s) => s.code);
          return [departmentSelect("department", t("Department"), pending[0], pending), noteField(action)];
        }
        return [noteField(action)];
      case "whistle":
        return [
          departmentChecks("departments", t("Summon departments *"), null),
          el("label", {}, t("Report-in deadline (minutes)"), el("input", { type: "number", name: "deadline_minutes", min: "1", max: "10080", value: "30" })),
          noteField(action),
        ];
      case "check_in": {
        const duties = pendingCheckIns(doc);
        const options = duties.map((d) => el("option", { value: d.whistle + "|" + d.department }, "#" + d.whistle + " · " + departmentText(d.department)));
        return [el("label", {}, t("Report in for"), el("select", { name: "duty" }, options))];
      }
      default: // actions added by other scripts (dispatch_urge.js) bring their own fields
        return (state.extraForms || {})[action] ? state.extraForms[action].fields(doc) : [noteField(action)];
    }
  }

  function localToIso(value) {
    if (!value) return null;
    const date = new Date(value); // datetime-local is the browser's local time
    return isNaN(date) ? null : date.toISOString();
  }

  /** The request an action form describes: {url, body} or {error}. */
  function requestFor(action, form, doc) {
    const data = new FormData(form);
    const note = String(data.get("note") || "").trim();
    const base = state.api + "/incidents/" + encodeURIComponent(doc.id);
    if (action === "whistle") {
      const departments = data.getAll("departments").map(String);
      if (!departments.length) return { error: t("Choose at least one department to summon.") };
      const body = { departments: departments, deadline_minutes: Number(data.get("deadline_minutes") || 30) };
      if (note) body.note = note;
      return { url: base + "/whistle", body: body };
    }
    if (action === "check_in") {
      const duty = String(data.get("duty") || "");
      if (!duty) return { error: t("No summons waiting for you.") };
      const [whistle, department] = duty.split("|");
      const body = state.user.role === "admin" ? { department: department } : {};
      return { url: state.api + "/whistles/" + encodeURIComponent(whistle) + "/check-in", body: body };
    }
    const body = { action: action, data: {} };
    if (note) body.note = note;
    switch (action) {
      case "reject":
        body.data.reason = String(data.get("reason"));
        if (body.data.reason === "duplicate") body.data.duplicate_of = String(data.get("duplicate_of") || "").trim();
        break;
      case "dispatch": {
        body.department = String(data.get("department") || "") || undefined;
        const supporting = data.getAll("supporting").map(String).filter((c) => c !== body.department);
        if (supporting.length) body.data.supporting = supporting;
        break;
      }
      case "verify":
        body.data.passed = data.get("passed") === "true";
        break;
      case "request_extension":
        body.data.until = localToIso(String(data.get("until") || ""));
        if (!body.data.until) return { error: t("Fill in the date to extend to.") };
        break;
      case "approve_extension": {
        body.data.approved = data.get("approved") === "true";
        const until = localToIso(String(data.get("until") || ""));
        if (until) body.data.until = until;
        break;
      }
      case "acknowledge":
        if (data.get("department")) body.department = String(data.get("department"));
        break;
      default:
        if ((state.extraForms || {})[action]) return state.extraForms[action].request(data, body, base);
    }
    return { url: base + "/actions", body: body };
  }

  function closeForm() {
    const slot = document.getElementById("gg-form-slot");
    if (slot) slot.replaceChildren();
    state.formOpen = false;
    for (const b of document.querySelectorAll("#gg-actions .gg-action")) b.removeAttribute("aria-pressed");
    if (state.staleDetail) refreshDetail();
  }

  function openForm(action) {
    const doc = state.doc;
    const slot = document.getElementById("gg-form-slot");
    if (!doc || !slot) return;
    Object.assign(state, { photoPickers: [], photoIds: [] }); // fieldsFor: actions with photos
    const error = el("p", { className: "gg-error", role: "alert", hidden: "hidden", id: "gg-action-error" });
    const submit = el("button", { type: "submit", className: "gg-confirm" }, t("Confirm:") + " " + label("actions", action));
    const cancel = el("button", { type: "button", className: "gg-cancel" }, t("Cancel"));
    const form = el(
      "form",
      { id: "gg-action-form", className: "gg-form", dataset: { action: action, state: "editing" } },
      el("h4", {}, label("actions", action)),
      fieldsFor(action, doc),
      error,
      el("div", { className: "gg-form-buttons" }, submit, cancel)
    );
    cancel.addEventListener("click", closeForm);
    const fail = (message) => {
      error.textContent = message;
      error.hidden = false;
      form.dataset.state = "error";
      submit.disabled = false;
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const request = requestFor(action, form, doc);
      if (request.error) return fail(request.error);
      form.dataset.state = "sending";
      submit.disabled = true;
      if (request.url.endsWith("/actions")) {
        // photos first (POST …/photos by stage), then the action names them in data.photo_ids
        const sent = await G.photos.uploadPickers(state.api, doc.id, state, state.csrf);
        if (!sent.ok) return fail(G.photos.text("upload_failed") + ": " + problemText(sent.result));
        if (sent.ids.length) request.body.data.photo_ids = sent.ids;
      }
      const result = await post(request.url, request.body);
      if (!result.ok) return fail(problemText(result));
      state.formOpen = false;
      if (request.url.endsWith("/actions")) showDoc(result.body);
      else await refreshDetail(true); // whistle and check-in answer with the whistle
    });
    for (const b of document.querySelectorAll("#gg-actions .gg-action")) {
      b.setAttribute("aria-pressed", b.dataset.action === action ? "true" : "false");
    }
    slot.replaceChildren(form);
    state.formOpen = true;
    const first = form.querySelector("textarea, input, select");
    if (first) first.focus();
  }

  function onPanelClick(event) {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const action = target.closest(".gg-action");
    if (action && panel().contains(action)) {
      openForm(action.dataset.action);
      return;
    }
    if (target.closest(".gg-close")) {
      state.selected = null;
      state.doc = null;
      state.formOpen = false;
      const node = panel();
      node.dataset.state = "empty";
      delete node.dataset.incident;
      delete node.dataset.status;
      node.replaceChildren(el("p", { className: "gg-hint" }, t("Click an incident to see it.")));
      renderListSoon();
    }
  }

  Object.assign(state, { openIncident, refreshDetail, onPanelClick });
})();
