/* Live updates: one EventSource per tab on /api/live/events (dashboard/app/live.py).
 *
 * The stream's events go into the `live-event` store (batched per animation frame, so
 * a burst is one Dash update); each page's clientside callback below decides what that
 * page must do: change a card in place (a new health score), or ask its server callback
 * for a fresh view (a status change, a reading batch for the compressor on screen),
 * throttled. `live-status` says whether the stream is up; the pages' slow fallback polls
 * (dcc.Interval) run only while it is down. The browser reconnects by itself and sends
 * Last-Event-ID; when the stream has closed for good (a 401, a server restart) it is
 * reopened here after a pause, with the last id in the query.
 * No inline script: served from assets/ (CSP). */
(function () {
  "use strict";
  var TYPES = ["diagnosis", "readings", "status", "incident", "fleet", "resync"];
  var source = null;
  var lastId = "";
  var queue = [];
  var flushScheduled = false;
  var watchdog = null;
  var counter = 0;
  var connected = null;

  function setProps(id, props) {
    var dc = window.dash_clientside;
    if (dc && dc.set_props) {
      try { dc.set_props(id, props); } catch (e) { /* not rendered (yet) */ }
    }
  }

  function setStatus(up) {
    if (connected === up) return;
    connected = up;
    setProps("live-status", {data: {connected: up, at: Date.now()}});
  }

  function flush() {
    flushScheduled = false;
    if (!queue.length) return;
    counter += 1;
    setProps("live-event", {data: {n: counter, events: queue}});
    queue = [];
  }

  function arm(heartbeatMs) {
    if (watchdog) clearTimeout(watchdog);
    // Three heartbeats without a word: the stream is dead though nobody said so.
    watchdog = setTimeout(function () { reopen(1000); }, 3 * heartbeatMs);
  }

  function reopen(delay) {
    setStatus(false);
    if (source) { source.close(); source = null; }
    setTimeout(open, delay);
  }

  function open() {
    var root = document.getElementById("live-root");
    if (!root) { setTimeout(open, 500); return; }  // the shell is not rendered yet
    if (source) return;
    var heartbeatMs = 1000 * (parseFloat(root.dataset.heartbeat) || 15);
    var url = root.dataset.stream + (lastId ? "?last_event_id=" + encodeURIComponent(lastId) : "");
    source = new EventSource(url);
    arm(heartbeatMs);
    source.addEventListener("ready", function () { setStatus(true); arm(heartbeatMs); });
    source.addEventListener("heartbeat", function () { arm(heartbeatMs); });
    TYPES.forEach(function (type) {
      source.addEventListener(type, function (msg) {
        arm(heartbeatMs);
        if (msg.lastEventId) lastId = msg.lastEventId;
        var data = {};
        try { data = JSON.parse(msg.data); } catch (e) { return; }
        queue.push({type: type, id: msg.lastEventId, data: data, received: Date.now()});
        if (!flushScheduled) {
          flushScheduled = true;
          (window.requestAnimationFrame || setTimeout)(flush);
          setTimeout(flush, 250);  // background tabs get no animation frames
        }
      });
    });
    source.onerror = function () {
      if (source && source.readyState === EventSource.CLOSED) {
        reopen(10000);  // refused (logged out?) or gone: try again later
      } else {
        setStatus(false);  // the browser reconnects by itself
      }
    };
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", open);
  } else {
    open();
  }
  // Never connected within 10 s: the fallback polls take over.
  setTimeout(function () { if (connected === null) setStatus(false); }, 10000);

  // ---------------------------------------------------------------- page reactions
  var lastRun = {};
  var pending = {};

  /* A new value for the store `id` now, or (within `gap` ms of the last) once the gap
   * has passed; returns the value to output now, or no_update. */
  function throttled(id, gap) {
    var now = Date.now();
    var last = lastRun[id] || 0;
    if (now - last >= gap) {
      lastRun[id] = now;
      return now;
    }
    if (!pending[id]) {
      pending[id] = setTimeout(function () {
        pending[id] = null;
        lastRun[id] = Date.now();
        setProps(id, {data: lastRun[id]});
      }, gap - (now - last));
    }
    return window.dash_clientside.no_update;
  }

  function texts() {
    var root = document.getElementById("live-root");
    try { return JSON.parse(root.dataset.texts || "{}"); } catch (e) { return {}; }
  }

  function shownStatus(card) {
    var found = /(?:^|\s)sc-status-(\S+)/.exec(card.className || "");
    return found ? found[1] : null;
  }

  function has(list, id) {
    return (list || []).indexOf(id) >= 0;
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.live = {
      /* The fallback poll runs only while the stream is known to be down. */
      pollDisabled: function (status) {
        return !(status && status.connected === false);
      },

      /* Fleet page: a diagnosis that keeps the card's status changes its score and
       * fault text in place; a status change, a device back online, a fleet change or
       * a resync asks the server for the view again (at most every 3 s); reading
       * batches matter only where full cards show the latest values. */
      fleet: function (batch) {
        var noUpdate = window.dash_clientside.no_update;
        if (!batch || !batch.events) return noUpdate;
        var refresh = false;
        var t = texts();
        var cardsShown = !!document.querySelector("#health-grid .sc-card-link");
        batch.events.forEach(function (ev) {
          var d = ev.data || {};
          if (ev.type === "diagnosis") {
            var card = document.getElementById("health-card-" + d.compressor);
            if (!card) return;
            if (shownStatus(card) !== d.status) { refresh = true; return; }
            var score = d.health_score === null || d.health_score === undefined
              ? "—" : String(Math.round(d.health_score));
            setProps("health-score-" + d.compressor, {children: score});
            if (document.getElementById("health-fault-" + d.compressor)) {
              setProps("health-fault-" + d.compressor, {children: d.fault || ""});
            }
            if (document.getElementById("health-seen-" + d.compressor)) {
              setProps("health-seen-" + d.compressor, {children: t.just_now || "now"});
            }
          } else if (ev.type === "readings") {
            (d.compressors || []).forEach(function (id) {
              var onScreen = !!document.getElementById("health-card-" + id);
              if (onScreen && (has(d.online, id) || cardsShown)) refresh = true;
            });
          } else if (ev.type === "status" || ev.type === "fleet" || ev.type === "resync") {
            refresh = true;
          }
        });
        return refresh ? throttled("health-live", 3000) : noUpdate;
      },

      /* Compressor page: its header on any news of this compressor (at most every
       * 10 s), its charts on a diagnosis or a reading batch (at most every 30 s: a
       * 24 h chart's buckets are minutes wide). */
      compressor: function (batch, cid) {
        var noUpdate = window.dash_clientside.no_update;
        if (!batch || !batch.events || !cid) return [noUpdate, noUpdate];
        var id = parseInt(cid, 10);
        var header = false;
        var charts = false;
        batch.events.forEach(function (ev) {
          var d = ev.data || {};
          if (ev.type === "resync") { header = true; charts = true; }
          else if (ev.type === "diagnosis" && d.compressor === id) { header = true; charts = true; }
          else if (ev.type === "readings" && has(d.compressors, id)) { header = true; charts = true; }
          else if ((ev.type === "status" || ev.type === "incident") && (d.compressor === id || has(d.compressors, id))) {
            header = true;
          }
        });
        return [header ? throttled("compressor-live-header", 10000) : noUpdate,
                charts ? throttled("compressor-live-charts", 30000) : noUpdate];
      },

      /* The navbar: an incident event carries the open count and the alert, so the
       * badge and a toast for a newly opened alert change in place (the newest three
       * toasts; the store remembers the newest id, so a reload does not toast it
       * again). Only a resync asks the server. */
      badge: function (batch) {
        var noUpdate = window.dash_clientside.no_update;
        if (!batch || !batch.events) return noUpdate;
        var t = texts();
        var resync = false;
        var last = null;
        var opened = [];
        batch.events.forEach(function (ev) {
          if (ev.type === "resync") resync = true;
          if (ev.type !== "incident") return;
          last = ev.data;
          if (ev.data.opened && ev.data.state === "open") opened.push(ev.data);
        });
        if (last && typeof last.open_count === "number") {
          var n = last.open_count;
          setProps("alerts-badge-count", {children: n <= 0 ? "" : (n > 99 ? "99+" : String(n)),
                                          className: n <= 0 ? "ms-1 d-none" : "ms-1"});
        }
        if (opened.length) {
          var colors = {critical: "danger", warning: "warning", info: "info"};
          var toasts = opened.slice(-3).reverse().map(function (a) {
            return {type: "Toast", namespace: "dash_bootstrap_components", props: {
              id: {type: "alerts-toast", index: a.id},
              header: String(a.severity || "").toUpperCase() + " · " + (a.title || ""),
              icon: colors[a.severity] || "secondary", dismissable: true, duration: 12000,
              is_open: true, className: "mb-2",
              children: [{type: "A", namespace: "dash_html_components", props: {
                href: "/alerts?alert=" + a.id, className: "small",
                children: t.open_alerts || "Open alerts"}}]}};
          });
          setProps("alerts-toasts", {children: toasts});
          setProps("alerts-badge-seen", {data: Math.max.apply(null, opened.map(function (a) {
            return a.id; }))});
        }
        return resync ? throttled("alerts-badge-live", 2000) : noUpdate;
      },
      alertsList: function (batch) { return incidents(batch, "alerts-live"); }
  };

  function incidents(batch, storeId) {
    var noUpdate = window.dash_clientside.no_update;
    if (!batch || !batch.events) return noUpdate;
    var hit = batch.events.some(function (ev) {
      return ev.type === "incident" || ev.type === "resync";
    });
    return hit ? throttled(storeId, 2000) : noUpdate;
  }
}());
