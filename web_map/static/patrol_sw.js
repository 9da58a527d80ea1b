/*
 * The patrol page's service worker (served as /patrol-sw.js, scope /patrol): the page opens on a
 * phone that has no connection, as long as it was opened once online on that phone.
 *
 * It answers only GET requests of this origin that the page needs to open and draw: the page
 * itself, /static/ (scripts, styles, Leaflet), the signed-in session (user and CSRF token), the
 * categories and the grids (/api/v1/session, /catalogue, /areas), and the base map tiles the
 * walker has seen (/basemap/, at most MAX_TILES, oldest dropped first). Each is network first:
 * online the page gets fresh answers (and the cache a copy), offline the last copy. Everything
 * else — every POST (the IndexedDB queue of patrol_queue.js uploads those when the connection
 * returns), the live streams, other API reads — passes by untouched.
 */
"use strict";

const PAGES = "gridgov-patrol-v1";
const TILES = "gridgov-patrol-tiles-v1";
const MAX_TILES = 600;
const API_KEPT = ["/api/v1/session", "/api/v1/catalogue", "/api/v1/areas"];

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("gridgov-patrol-") && name !== PAGES && name !== TILES) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** The cache a request is kept in, or null: not ours to answer. */
function cacheFor(request) {
  if (request.method !== "GET") return null;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return null;
  if (request.mode === "navigate") return url.pathname === "/patrol" ? PAGES : null;
  if (url.pathname.startsWith("/static/")) return PAGES;
  if (url.pathname.startsWith("/basemap/")) return TILES;
  if (API_KEPT.some((path) => url.pathname === path || url.pathname.startsWith(path + "/"))) return PAGES;
  return null;
}

async function trim(cache) {
  const keys = await cache.keys();
  for (const key of keys.slice(0, Math.max(0, keys.length - MAX_TILES))) await cache.delete(key);
}

async function networkFirst(request, name) {
  const cache = await caches.open(name);
  try {
    const answer = await fetch(request);
    if (answer.ok) {
      await cache.put(request, answer.clone());
      if (name === TILES) trim(cache);
    }
    return answer;
  } catch (failure) {
    const kept = await cache.match(request);
    if (kept) return kept;
    throw failure;
  }
}

// The page sends what it loaded before this worker ran ({keep: [url, …]}); kept where missing.
self.addEventListener("message", (event) => {
  const urls = (event.data && event.data.keep) || [];
  event.waitUntil((async () => {
    for (const url of urls) {
      const request = new Request(new URL(url, self.location.origin), { credentials: "same-origin" });
      const name = cacheFor(request) || (new URL(request.url).pathname === "/patrol" ? PAGES : null);
      if (!name) continue;
      const cache = await caches.open(name);
      if (await cache.match(request)) continue;
      try {
        const answer = await fetch(request);
        if (answer.ok) await cache.put(request, answer);
      } catch (_offline) {
        // kept the next time the page is opened online
      }
    }
    if (event.ports[0]) event.ports[0].postMessage({ kept: true });
  })());
});

self.addEventListener("fetch", (event) => {
  const name = cacheFor(event.request);
  if (name) event.respondWith(networkFirst(event.request, name));
});
