/*
 * GridGov dispatch console: live updates from GET /api/v1/stream (Server-Sent Events).
 *
 * The session cookie authenticates the stream; #gg-live carries data-state and the body
 * data-live-events the number of events handled (for tests).
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const { t, dispatch: state } = G;
  const { upsert, renderListSoon } = state.late("upsert", "renderListSoon");
  const STREAM_KINDS = ["incident", "status", "whistle", "check_in", "update"];

  function setLive(value, text) {
    const node = document.getElementById("gg-live");
    node.dataset.state = value;
    node.textContent = text;
  }

  async function refreshWhistled(id) {
    const result = await G.getJSON(state.api + "/incidents/" + encodeURIComponent(id));
    if (!result.ok) return;
    const open = (result.body.whistles || []).some((w) => w.open);
    if (open) state.whistled.add(id);
    else state.whistled.delete(id);
    const feature = state.features.get(id);
    if (feature) upsert(feature);
    renderListSoon();
  }

  function applyLive(data) {
    const feature = data.incident;
    if (!feature || feature.id === undefined) return;
    const id = String(feature.id);
    if (data.action === "whistle") {
      state.whistled.add(id);
      const summoned = (data.data && data.data.departments) || [];
      if (state.user.role === "department" && summoned.includes(state.user.department)) {
        state.summoned.add(id);
      }
    }
    upsert(feature);
    // a check-in, a withdrawal or the case's closing or rejection may leave no whistle open
    if (data.action === "check_in" || data.action === "withdraw_whistle") refreshWhistled(id);
    else if (data.data && data.data.whistles_ended) refreshWhistled(id);
    renderListSoon();
    if (state.selected === id) state.refreshDetail();
  }

  function onLive(event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (_bad) {
      return;
    }
    state.received += 1;
    document.body.dataset.liveEvents = String(state.received);
    if (state.loading) state.pending.push(data);
    else applyLive(data);
  }

  function connectStream() {
    // Same origin: the session cookie goes along and authenticates the stream. The browser
    // reconnects by itself and sends Last-Event-ID, so nothing is missed in between.
    const source = new EventSource(state.api + "/stream");
    source.addEventListener("open", () => setLive("live", "● " + t("Live")));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        setLive("closed", t("Live updates stopped: reload the page."));
      } else {
        setLive("connecting", t("Reconnecting…"));
      }
    });
    for (const kind of STREAM_KINDS) source.addEventListener(kind, onLive);
    state.source = source;
  }

  Object.assign(state, { applyLive, connectStream });
})();
