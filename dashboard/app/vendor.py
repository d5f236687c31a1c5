"""Bootstrap CSS/JS and Font Awesome icons served from their installed PyPI packages
(XStatic-Bootstrap, XStatic-Font-Awesome): nothing is fetched from a CDN at run time."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, send_from_directory
from flask.typing import ResponseReturnValue

BOOTSTRAP_CSS = "/vendor/bootstrap/css/bootstrap.min.css"
ICONS_CSS = "/vendor/fontawesome/css/all.min.css"
BOOTSTRAP_JS = "/vendor/bootstrap/js/bootstrap.bundle.min.js"


def _package_dirs() -> dict[str, str]:
    import xstatic.pkg.bootstrap as bootstrap
    import xstatic.pkg.font_awesome as font_awesome

    return {"bootstrap": bootstrap.BASE_DIR, "fontawesome": font_awesome.BASE_DIR}


def init_app(server: Flask) -> None:
    bp = Blueprint("vendor", __name__)
    dirs = _package_dirs()

    @bp.route("/vendor/<package>/<path:filename>")
    def vendor_file(package: str, filename: str) -> ResponseReturnValue:
        if package not in dirs or not filename.startswith(("css/", "js/", "webfonts/")):
            abort(404)
        # send_from_directory refuses paths that escape the folder.
        return send_from_directory(dirs[package], filename, max_age=7 * 24 * 3600)

    server.register_blueprint(bp)
