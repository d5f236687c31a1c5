"""Firmware releases and OTA: the check answers 204 or the release to install, the
download needs the device token and resumes with HTTP Range, status reports land on
the compressor, rollouts limit who is offered what."""

import hashlib

import pytest

from dashboard.core.blobs import audio_store
from dashboard.core.database import session_scope
from dashboard.core.models import Compressor
from dashboard.fleet.firmware import (
    FirmwareError,
    create_release,
    delete_release,
    device_firmware_states,
    parse_version,
    update_rollout,
)

BINARY = bytes(range(256)) * 40  # 10 KiB


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def release(app, world):
    with session_scope(app) as s:
        rel = create_release(s, audio_store(app), world.org_ids["A"], "1.3.0", "esp32-inmp441",
                             "fixes", BINARY, created_by="admin@a.example")
        return rel.id


def test_versions_compare_numerically():
    assert parse_version("1.2.10") > parse_version("1.2.9")
    assert parse_version("1.2") == parse_version("1.2.0")
    assert parse_version("v2.0") > parse_version("1.99.99")
    for bad in ("", "1..2", "abc", "1.2.3.4.5", "1.-2"):
        with pytest.raises(FirmwareError):
            parse_version(bad)


def test_release_records_sha256_and_size(app, world, release):
    with session_scope(app) as s:
        states = device_firmware_states(s, world.org_ids["A"])
    assert {st["target_version"] for st in states} == {"1.3.0"}
    assert all(st["compressor_id"] in world.compressors["A"] for st in states)
    with session_scope(app) as s:
        with pytest.raises(FirmwareError, match="already exists"):
            create_release(s, audio_store(app), world.org_ids["A"], "1.3.0", "esp32-inmp441",
                           None, BINARY)


def test_check_answers_204_when_up_to_date_and_200_when_newer(client, world, release):
    token = world.tokens[world.compressors["A"][0]]
    resp = client.get("/api/esp32/firmware?version=1.3.0&hw=esp32-inmp441", headers=auth(token))
    assert resp.status_code == 204
    resp = client.get("/api/esp32/firmware?version=1.2.9&hw=esp32-inmp441", headers=auth(token))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["version"] == "1.3.0" and body["size"] == len(BINARY)
    assert body["sha256"] == hashlib.sha256(BINARY).hexdigest()
    assert body["url"] == f"/api/esp32/firmware/{release}/download"
    other_hw = client.get("/api/esp32/firmware?version=1.0&hw=esp32-s3", headers=auth(token))
    assert other_hw.status_code == 204


def test_other_organisations_devices_are_not_offered_or_served(client, world, release):
    token_b = world.tokens[world.compressors["B"][0]]
    resp = client.get("/api/esp32/firmware?version=0.1&hw=esp32-inmp441", headers=auth(token_b))
    assert resp.status_code == 204
    resp = client.get(f"/api/esp32/firmware/{release}/download", headers=auth(token_b))
    assert resp.status_code == 404


def test_download_needs_token_and_resumes_with_range(client, world, release):
    url = f"/api/esp32/firmware/{release}/download"
    assert client.get(url).status_code == 401
    token = world.tokens[world.compressors["A"][0]]
    full = client.get(url, headers=auth(token))
    assert full.status_code == 200 and full.data == BINARY
    assert full.headers["Accept-Ranges"] == "bytes"
    part = client.get(url, headers={**auth(token), "Range": "bytes=4096-"})
    assert part.status_code == 206
    assert part.data == BINARY[4096:]
    assert part.headers["Content-Range"] == f"bytes 4096-{len(BINARY) - 1}/{len(BINARY)}"
    bad = client.get(url, headers={**auth(token), "Range": f"bytes={len(BINARY) + 10}-"})
    assert bad.status_code == 416


def test_status_reports_update_the_compressor(client, app, world, release):
    cid = world.compressors["A"][0]
    token = world.tokens[cid]
    r = client.post("/api/esp32/firmware/status", json={"version": "1.3.0", "state": "downloading"},
                    headers=auth(token))
    assert r.status_code == 200
    r = client.post("/api/esp32/firmware/status",
                    json={"version": "1.3.0", "state": "failed", "reason": "sha256 mismatch"},
                    headers=auth(token))
    with session_scope(app) as s:
        comp = s.get(Compressor, cid)
        assert (comp.firmware_state, comp.firmware_detail) == ("failed", "sha256 mismatch")
    client.post("/api/esp32/firmware/status", json={"version": "1.3.0", "state": "installed"},
                headers=auth(token))
    with session_scope(app) as s:
        comp = s.get(Compressor, cid)
        assert (comp.firmware_state, comp.firmware_version) == ("installed", "1.3.0")
    for bad in ({"version": "1.3.0", "state": "exploded"}, {"version": "x", "state": "failed"},
                {"state": "installed"}, {"version": "1.3", "state": "installed", "extra": 1}):
        resp = client.post("/api/esp32/firmware/status", json=bad, headers=auth(token))
        assert resp.status_code == 422, bad


def test_rollout_to_chosen_devices_only(client, app, world, release):
    a1, a2 = world.compressors["A"]
    with session_scope(app) as s:
        update_rollout(s, world.org_ids["A"], release, "devices", [a2])
        with pytest.raises(FirmwareError):
            update_rollout(s, world.org_ids["A"], release, "devices", [world.compressors["B"][0]])
    check = "/api/esp32/firmware?version=1.0.0&hw=esp32-inmp441"
    assert client.get(check, headers=auth(world.tokens[a1])).status_code == 204
    assert client.get(check, headers=auth(world.tokens[a2])).status_code == 200
    with session_scope(app) as s:
        delete_release(s, audio_store(app), world.org_ids["A"], release)
    assert client.get(check, headers=auth(world.tokens[a2])).status_code == 204


def test_bad_check_parameters_are_400(client, world):
    token = world.tokens[world.compressors["A"][0]]
    assert client.get("/api/esp32/firmware?version=abc&hw=esp32",
                      headers=auth(token)).status_code == 400
    assert client.get("/api/esp32/firmware?version=1.0", headers=auth(token)).status_code == 400
