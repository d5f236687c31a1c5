"""In real Chromium: the web manifest is linked from the login page and the app's pages,
the service worker registers for the whole site, the settings page's push card talks
to the browser's Push API through assets/pwa.js, and with the network gone a page
opens the cached offline shell."""

from __future__ import annotations

import sqlalchemy as sa
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.core.database import session_scope
from dashboard.core.models import User
from tests.conftest import PASSWORD
from tests.test_browser_settings import log_in, shot

PORT = 8056

REGISTRATION = """
const done = arguments[arguments.length - 1];
navigator.serviceWorker.ready.then(
  (reg) => done({scope: reg.scope, active: Boolean(reg.active),
                 controlled: Boolean(navigator.serviceWorker.controller)}),
  (err) => done({error: String(err)}));
"""
MANIFEST = """
const done = arguments[arguments.length - 1];
const link = document.querySelector('link[rel="manifest"]');
if (!link) { done(null); return; }
fetch(link.href).then((r) => r.json()).then((m) => done({href: link.getAttribute('href'),
  name: m.name, display: m.display, start_url: m.start_url,
  sizes: m.icons.map((i) => i.sizes + ':' + i.purpose)}), (e) => done({error: String(e)}));
"""


def registration(dash_duo) -> dict:
    dash_duo.driver.set_script_timeout(20)
    return dash_duo.driver.execute_async_script(REGISTRATION)


def test_the_app_is_installable_and_its_shell_works_offline(dash_duo, dash_app, world):
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    base = dash_duo.server.url
    driver = dash_duo.driver
    driver.get(base + "/login")
    dash_duo.wait_for_element("#login-form")
    driver.set_script_timeout(20)
    manifest = driver.execute_async_script(MANIFEST)
    assert manifest["href"] == "/manifest.webmanifest"
    assert (manifest["name"], manifest["display"]) == ("SignalCraft", "standalone")
    assert {"192x192:any", "512x512:any", "512x512:maskable"} <= set(manifest["sizes"])
    assert driver.find_element("css selector", 'link[rel="apple-touch-icon"]')
    reg = registration(dash_duo)
    assert reg.get("scope") == base + "/" and reg["active"], reg

    with session_scope(dash_app.server) as s:
        s.execute(sa.update(User).where(User.email == world.users["A-viewer"])
                  .values(language="en"))
    log_in(dash_duo, world.users["A-viewer"], PASSWORD)
    dash_duo.wait_for_element("#nav-settings")
    driver.get(base + "/settings")
    dash_duo.wait_for_element("#settings-push-card")
    manifest = driver.execute_async_script(MANIFEST)  # a Dash page links it too
    assert manifest and manifest["href"] == "/manifest.webmanifest"
    reg = registration(dash_duo)
    assert reg["controlled"] and reg["scope"] == base + "/"
    # pwa.js reported what this browser can do; the callback put it into words.
    WebDriverWait(driver, 15).until(
        lambda d: d.find_element("css selector", "#settings-push-browser").text.strip())
    state = dash_duo.find_element("#settings-push-browser").text
    # Headless Chromium may or may not offer the Push API; either way pwa.js said so.
    assert state in {"This browser does not get notifications yet.",
                     "This browser cannot show push notifications.",
                     "Notifications are blocked for this site in the browser's settings."}, state
    shot(dash_duo, "pwa-settings")

    # The shell is in the cache...
    cached = driver.execute_async_script("""
const done = arguments[arguments.length - 1];
Promise.all(['/offline', '/assets/signalcraft.css', '/assets/icons/icon-192.png']
  .map((u) => caches.match(u).then((r) => Boolean(r && r.ok)))).then(done);
""")
    assert cached == [True, True, True]
    # ...and with the server gone, the service worker answers a page with the offline page.
    dash_duo.server.stop()
    driver.get(base + "/alerts")
    dash_duo.wait_for_element("#offline-card", timeout=15)
    shot(dash_duo, "pwa-offline")
