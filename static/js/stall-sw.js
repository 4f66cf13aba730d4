/* The stall page's service worker: network first, the cache when there is no network,
 * for the stall pages, their data and the static files they use. Sales (POSTs) are never
 * cached: the page queues them itself and sends them when the connection returns. */
"use strict";
var CACHE = "stall-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/vendor/fairs/") !== 0 && url.pathname.indexOf("/static/") !== 0) return;
  event.respondWith(
    fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, { ignoreSearch: true }).then(function (hit) {
        return hit || Response.error();
      });
    })
  );
});
