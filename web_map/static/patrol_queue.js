/*
 * The patrol page's offline queue (window.GridGov.patrolQueue), on top of gridgov.js.
 *
 * Everything a patrol produces is written to IndexedDB first and uploaded from there, so a
 * phone that loses its connection keeps working and nothing is lost or stored twice:
 * - `patrols` (key: client_id): the patrol as the phone knows it — its server id once the
 *   POST /api/v1/patrols with that client_id has been answered (a repeated start with the same
 *   client_id returns the same patrol), when it started and ended, whether the end was sent;
 * - `fixes` (key: the point id, "<client_id>-<n>"): GPS fixes not yet acknowledged; sent in
 *   batches to POST /api/v1/patrols/{id}/points, which stores a repeated point id once;
 * - `reports` (key: the Idempotency-Key made when the report was queued): problems found on the
 *   way, sent to POST /api/v1/incidents with source "patrol" and the patrol's id; a resend under
 *   the same key returns the report already stored.
 * An item leaves the queue only when the server answered for it (2xx, or a 4xx that no resend
 * can mend, reported to the page); a network failure, no answer within ANSWER_WITHIN_MS, 5xx,
 * 408 or 429 keeps it for the next try.
 */
(function () {
  "use strict";

  const G = window.GridGov;
  const DB_NAME = "gridgov-patrol";
  const STORES = ["patrols", "fixes", "reports"];
  const RETRY_MS = 2000;
  // An upload with no answer by then is given up and tried again (a phone's connection can hang
  // a request without failing it, which would hold the whole queue).
  const ANSWER_WITHIN_MS = 20000;

  function request(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  function openDb() {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("patrols", { keyPath: "client_id" });
      db.createObjectStore("fixes", { keyPath: "id" }).createIndex("patrol", "patrol");
      db.createObjectStore("reports", { keyPath: "key" }).createIndex("patrol", "patrol");
    };
    return request(req);
  }

  /** A random id: crypto.getRandomValues works on plain-http intranet hosts too. */
  function randomId(prefix) {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function retryable(status) {
    return status === 0 || status === 408 || status === 429 || status >= 500;
  }

  /** `make({api, csrf, user, batchMax, onChange, onProblem, onReported})`: the queue. */
  async function make(options) {
    const db = await openDb();
    let busy = false;
    let again = false;
    let retry = null;

    function tx(store, mode, work) {
      const t = db.transaction(store, mode);
      const result = work(t.objectStore(store));
      return new Promise((resolve, reject) => {
        t.oncomplete = () => resolve(result);
        t.onerror = () => reject(t.error);
        t.onabort = () => reject(t.error);
      });
    }
    const put = (store, value) => tx(store, "readwrite", (s) => s.put(value));
    const get = (store, key) => tx(store, "readonly", (s) => request(s.get(key))).then((p) => p);
    /** Save the page's copy of a patrol without losing the server id an upload learnt. */
    async function savePatrol(p) {
      const known = await get("patrols", p.client_id);
      if (known && known.id && !p.id) p.id = known.id;
      await put("patrols", p);
    }
    const remove = (store, keys) => tx(store, "readwrite", (s) => keys.forEach((k) => s.delete(k)));
    const all = (store) => tx(store, "readonly", (s) => request(s.getAll())).then((p) => p);
    const byPatrol = (store, cid) =>
      tx(store, "readonly", (s) => request(s.index("patrol").getAll(cid))).then((p) => p);

    async function post(path, body, extra) {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), ANSWER_WITHIN_MS);
      try {
        return await G.postJSON(options.api + path, body, options.csrf, extra, abort.signal);
      } catch (_network) {
        return { ok: false, status: 0, body: null };
      } finally {
        clearTimeout(timer);
      }
    }

    async function mine() {
      const patrols = await all("patrols");
      return patrols.filter((p) => p.user === options.user)
        .sort((a, b) => (a.started_at < b.started_at ? -1 : 1));
    }

    async function counts() {
      const [fixes, reports, patrols] = await Promise.all([all("fixes"), all("reports"), mine()]);
      const unsent = patrols.filter((p) => !p.id || (p.ended_at && !p.end_sent)).length;
      return { fixes: fixes.length, reports: reports.length, total: fixes.length + reports.length + unsent };
    }

    async function changed(state) {
      if (options.onChange) options.onChange(state, await counts());
    }

    /** Upload one patrol's start, fixes, reports and end; false: stop and try later. */
    async function flushPatrol(p) {
      if (!p.id) {
        const r = await post("/patrols", { client_id: p.client_id, started_at: p.started_at });
        if (!r.ok) {
          if (!retryable(r.status)) options.onProblem(r);
          return false;
        }
        p.id = r.body.id;
        const known = await get("patrols", p.client_id); // the page's copy: newer seq, distance
        if (known) await put("patrols", Object.assign(known, { id: p.id }));
      }
      const fixes = (await byPatrol("fixes", p.client_id)).sort((a, b) => (a.t < b.t ? -1 : 1));
      for (let i = 0; i < fixes.length; i += options.batchMax) {
        const chunk = fixes.slice(i, i + options.batchMax);
        const body = { fixes: chunk.map((f) => ({ id: f.id, t: f.t, lon: f.lon, lat: f.lat, accuracy: f.accuracy })) };
        const r = await post("/patrols/" + p.id + "/points", body);
        if (!r.ok && retryable(r.status)) return false;
        if (!r.ok) options.onProblem(r);
        await remove("fixes", chunk.map((f) => f.id));
      }
      for (const item of await byPatrol("reports", p.client_id)) {
        const body = Object.assign({}, item.body, { patrol: p.id });
        const r = await post("/incidents", body, { "Idempotency-Key": item.key });
        if (!r.ok && retryable(r.status)) return false;
        if (r.ok) options.onReported(r.body, item);
        else options.onProblem(r);
        await remove("reports", [item.key]);
      }
      if (p.ended_at && !p.end_sent) {
        const r = await post("/patrols/" + p.id + "/end", { at: p.ended_at });
        if (!r.ok && retryable(r.status)) return false;
        if (!r.ok) options.onProblem(r);
        await remove("patrols", [p.client_id]);
      }
      return true;
    }

    /** Upload what is queued (one upload at a time; a call during one runs it again after). */
    async function flush() {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        do {
          again = false;
          await changed("sending");
          let done = true;
          for (const p of await mine()) {
            if (!(await flushPatrol(p))) {
              done = false;
              break;
            }
          }
          const left = await counts();
          await changed(done && left.total === 0 ? "synced" : "queued");
          // a lost answer or a busy server: try again soon while the browser says it is online
          if (!done && navigator.onLine && !retry) {
            retry = setTimeout(() => {
              retry = null;
              flush();
            }, RETRY_MS);
          }
        } while (again);
      } finally {
        busy = false;
      }
    }

    return {
      flush: flush,
      counts: counts,
      /** The patrol this user is walking (not ended), or null. */
      current: async () => (await mine()).find((p) => !p.ended_at) || null,
      start: async (extra) => {
        const p = Object.assign({
          client_id: randomId("patrol-"), user: options.user, id: null,
          started_at: new Date().toISOString(), ended_at: null, end_sent: false,
          seq: 0, distance_m: 0, last: null,
        }, extra || {});
        await put("patrols", p);
        return p;
      },
      addFix: async (p, fix) => {
        p.seq += 1;
        const item = Object.assign({ id: p.client_id + "-" + p.seq, patrol: p.client_id }, fix);
        await put("fixes", item);
        await savePatrol(p);
        return item;
      },
      addReport: async (p, body) => {
        const item = { key: randomId("patrol-report-"), patrol: p.client_id, body: body };
        await put("reports", item);
        return item;
      },
      end: async (p) => {
        p.ended_at = new Date().toISOString();
        await savePatrol(p);
        // the end waits for its upload: not "everything is uploaded" until it is sent
        await changed(navigator.onLine ? "sending" : "queued");
      },
      changed: changed,
    };
  }

  G.patrolQueue = { make: make, stores: STORES };
})();
