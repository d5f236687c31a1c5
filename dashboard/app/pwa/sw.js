/* SignalCraft service worker (served at /sw.js, scope /).
 * - Offline shell: the offline page, styles and icons are cached at install; a page
 *   that cannot load shows the offline page; static files are served from the cache
 *   and refreshed in the background. Data (Dash callbacks, APIs) is never cached.
 * - Web Push: shows the alert the server sent (JSON: title, body, url, tag, severity,
 *   lang); a click focuses an open SignalCraft window on the alert, or opens one. */
const VERSION = "{{VERSION}}";
const SHELL = "signalcraft-shell-" + VERSION;
const SHELL_URLS = [
  "/offline",
  "/manifest.webmanifest",
  "/vendor/bootstrap/css/bootstrap.min.css",
  "/vendor/fontawesome/css/all.min.css",
  "/assets/signalcraft.css",
  "/assets/accounts.css",
  "/assets/favicon.svg",
  "/assets/icons/icon-192.png",
  "/assets/icons/badge-96.png",
];
const STATIC_PREFIXES = ["/vendor/", "/assets/", "/_dash-component-suites/"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_URLS))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(
    names.filter((n) => n.startsWith("signalcraft-shell-") && n !== SHELL)
      .map((n) => caches.delete(n)))).then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline")));
    return;
  }
  if (STATIC_PREFIXES.some((p) => url.pathname.startsWith(p))) {
    event.respondWith(caches.open(SHELL).then((cache) => cache.match(request).then((hit) => {
      const fresh = fetch(request).then((response) => {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
      if (hit) {
        event.waitUntil(fresh.catch(() => undefined));
        return hit;
      }
      return fresh;
    })));
  }
});

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { title: "SignalCraft", body: event.data ? event.data.text() : "" };
  }
  const title = data.title || "SignalCraft";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    icon: "/assets/icons/icon-192.png",
    badge: "/assets/icons/badge-96.png",
    tag: data.tag || undefined,
    renotify: Boolean(data.tag),
    lang: data.lang || undefined,
    requireInteraction: data.severity === "critical",
    data: { url: data.url || "/alerts" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/alerts",
                         self.location.origin);
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true })
    .then((windows) => {
      for (const client of windows) {
        if (new URL(client.url).origin === target.origin && "focus" in client) {
          return client.focus().then((c) => (c && "navigate" in c ? c.navigate(target.href) : c));
        }
      }
      return self.clients.openWindow(target.href);
    }));
});
