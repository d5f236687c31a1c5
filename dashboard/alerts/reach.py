"""Where one user's alerts go: per channel, whether they asked for it and what stands
in the way (no phone, Kakao disconnected, no browser, the server not set up, the
organisation switched it off). Read by the settings page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask
from sqlalchemy.orm import Session

from dashboard.alerts.channels import CHANNELS, channel_problem
from dashboard.alerts.notify import channel_settings
from dashboard.alerts.webpush import list_browsers
from dashboard.core.models import User


@dataclass(frozen=True)
class ReachView:
    kind: str
    wanted: bool
    # "ok", "off" (not asked for), "needs_phone", "not_linked", "disconnected",
    # "no_browser", "server" (not configured here), "org_off"
    state: str
    detail: str = ""  # the address, a reason, or a count
    since: dt.datetime | None = None


def reach_overview(app: Flask, session: Session, user: User) -> list[ReachView]:
    org = channel_settings(session, user.org_id) if user.org_id else {}
    browsers = list_browsers(session, user.id)
    wanted = {"email": user.notify_email, "alimtalk": user.notify_alimtalk,
              "sms": user.notify_sms, "kakao": user.notify_kakao, "webpush": user.notify_push}
    views = []
    for kind in CHANNELS:
        on = bool(wanted[kind])
        if kind == "kakao" and user.kakao_disconnected_at is not None:
            views.append(ReachView(kind, on, "disconnected", user.kakao_disconnect_reason or "",
                                   user.kakao_disconnected_at))
            continue
        if not on:
            views.append(ReachView(kind, False, "off"))
            continue
        if channel_problem(app, kind):
            views.append(ReachView(kind, True, "server"))
        elif kind in org and not org[kind].enabled:
            views.append(ReachView(kind, True, "org_off"))
        elif kind in ("alimtalk", "sms") and not user.phone:
            views.append(ReachView(kind, True, "needs_phone"))
        elif kind == "kakao" and not user.kakao_access_token:
            views.append(ReachView(kind, True, "not_linked"))
        elif kind == "webpush" and not browsers:
            views.append(ReachView(kind, True, "no_browser"))
        else:
            detail = {"email": user.email, "alimtalk": user.phone or "", "sms": user.phone or "",
                      "kakao": "", "webpush": str(len(browsers))}[kind]
            views.append(ReachView(kind, True, "ok", detail))
    return views
