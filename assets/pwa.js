/* SignalCraft in the browser: registers the service worker (/sw.js) on every page, and
 * on the settings page drives the browser's Push API for "Notifications on this
 * browser". The server never sees the browser's private key: the browser hands over
 * its PushSubscription (endpoint + public keys) through a Dash store, and the
 * callbacks in callbacks/settings_reach.py save it for the logged-in user. */
(function () {
  "use strict";
  var supported = "serviceWorker" in navigator;
  var pushSupported = supported && "PushManager" in window && "Notification" in window;

  if (supported) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function (err) {
        console.warn("service worker not registered", err);
      });
    });
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function setProps(id, props) {
    // dcc.Store renders no element: the push card's presence says the stores exist.
    if (window.dash_clientside && window.dash_clientside.set_props &&
        document.getElementById("settings-push-card")) {
      window.dash_clientside.set_props(id, props);
    }
  }

  function currentSubscription() {
    if (!pushSupported) return Promise.resolve(null);
    return navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription();
    });
  }

  function report(extra) {
    if (!document.getElementById("settings-push-card")) return Promise.resolve();
    var state = {
      supported: pushSupported,
      permission: pushSupported ? Notification.permission : "unsupported",
      standalone: window.matchMedia("(display-mode: standalone)").matches ||
        window.navigator.standalone === true,
      ios: /iPhone|iPad/.test(navigator.userAgent),
      endpoint: null, error: (extra && extra.error) || null, at: Date.now(),
    };
    return currentSubscription().then(function (sub) {
      state.endpoint = sub ? sub.endpoint : null;
      setProps("settings-push-state", { data: state });
    }, function () {
      setProps("settings-push-state", { data: state });
    });
  }

  function enable(button) {
    var key = button.getAttribute("data-vapid-key");
    if (!pushSupported || !key) return report();
    return Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") return report();
      return navigator.serviceWorker.ready.then(function (reg) {
        return reg.pushManager.getSubscription().then(function (old) {
          // A subscription made with another server key cannot be reused.
          var oldKey = old && old.options && old.options.applicationServerKey;
          var same = oldKey && btoa(String.fromCharCode.apply(null, new Uint8Array(oldKey)))
            .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") === key;
          if (old && same) return old;
          return (old ? old.unsubscribe() : Promise.resolve()).then(function () {
            return reg.pushManager.subscribe({
              userVisibleOnly: true, applicationServerKey: keyBytes(key) });
          });
        });
      }).then(function (sub) {
        setProps("settings-push-new", { data: { subscription: sub.toJSON(), at: Date.now() } });
        return report();
      });
    }).catch(function (err) {
      return report({ error: String(err && err.message || err) });
    });
  }

  function disable() {
    return currentSubscription().then(function (sub) {
      if (!sub) return report();
      var endpoint = sub.endpoint;
      return sub.unsubscribe().then(function () {
        setProps("settings-push-removed", { data: { endpoint: endpoint, at: Date.now() } });
        return report();
      });
    }).catch(function (err) {
      return report({ error: String(err && err.message || err) });
    });
  }

  document.addEventListener("click", function (event) {
    var on = event.target.closest && event.target.closest("#settings-push-enable");
    if (on) { event.preventDefault(); enable(on); return; }
    var off = event.target.closest && event.target.closest("#settings-push-disable");
    if (off) { event.preventDefault(); disable(); }
  });

  // Dash renders the settings page after load: report once each time it appears.
  var shown = false;
  setInterval(function () {
    var here = Boolean(document.getElementById("settings-push-card"));
    if (here && !shown) report();
    shown = here;
  }, 700);
})();
