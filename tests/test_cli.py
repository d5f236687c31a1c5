"""Operator commands: devices add prints a working token last; create-admin; seed-demo."""

import sqlalchemy as sa

from dashboard.core.database import session_scope
from dashboard.core.models import Compressor, Site, User


def test_devices_add_creates_org_site_compressor_and_prints_token_last(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["devices", "add", "--org", "Acme", "--site", "Plant 1",
                                 "--name", "Chiller 3"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with session_scope(app) as s:
        comp = s.scalar(sa.select(Compressor).where(Compressor.name == "Chiller 3"))
        assert s.get(Site, comp.site_id).name == "Plant 1"
    resp = client.post("/api/esp32/data", json={"seq": 1, "metrics": {"current_a": 3.0}},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201
    again = runner.invoke(args=["devices", "add", "--org", "Acme", "--site", "Plant 1",
                                "--name", "Chiller 3"])
    assert again.exit_code != 0 and "already has" in again.output


def test_create_admin_generates_a_password_that_logs_in(app, client):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "Boss@Acme.example", "--org", "Acme", "--generate"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1].split(": ", 1)[1]
    resp = client.post("/login", data={"email": "boss@acme.example", "password": password})
    assert resp.status_code == 302
    with session_scope(app) as s:
        assert s.scalar(sa.select(User.role).where(User.email == "boss@acme.example")) == "admin"


def test_create_admin_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "a@b.example", "--org", "X", "--password", "short"])
    assert result.exit_code != 0 and "at least" in result.output


def test_seed_demo_is_idempotent(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Compressor)) == 8
