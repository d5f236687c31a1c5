"""Issue 17: malformed calls of ``/_dash-update-component`` answer 400 JSON, and a
fuzz run over every callback of ``/_dash-dependencies`` (wrong lengths, wrong types,
unknown ids, huge values, and well-formed bodies with hostile values) gives no 5xx.

In-process (Flask test client), seeded: FUZZ_CALLBACK_CASES sets the number of bodies
(default 5,000); FUZZ_SEED the seed."""

from __future__ import annotations

import copy
import json
import os
import random
import time
from typing import Any

import pytest

from tests.dash_client import call_callback

CASES = int(os.environ.get("FUZZ_CALLBACK_CASES", "5000"))
SEED = int(os.environ.get("FUZZ_SEED", "17"))

HOSTILE = [None, True, False, 0, -1, 1.5, 2**63, -2**63, 10**30, 1e308, -1e308, "", "x",
           "abc", "0", "-1", "1e19", "9999-12-31", "0001-01-01", "9999-12-31T23:59:59-23:59",
           "custom", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --",
           "a" * 100_000, [], [None], list(range(2000)), {}, {"a": {"b": [1]}},
           {"startRow": "x", "endRow": 1e19}, {"index": "abc", "type": "x"},
           [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]], "data:audio/wav;base64,AAAA",
           "data:x;base64," + "A" * 20_000]


def _post(client, body: Any) -> Any:
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json")


def _valid_body(dep: dict) -> dict:
    def item(spec):
        return {"id": spec["id"], "property": spec["property"], "value": None}

    outputs = []
    for part in dep["output"].strip(".").split("..."):
        cid, prop = part.split("@")[0].rsplit(".", 1)
        outputs.append({"id": cid, "property": prop})
    multi = dep["output"].startswith("..")

    def pattern_safe(spec):
        # pattern-matching inputs arrive as lists ([] means no such component now)
        return [] if spec["id"].startswith("{") else item(spec)

    inputs = [pattern_safe(s) for s in dep["inputs"]]
    return {"output": dep["output"], "outputs": outputs if multi else outputs[0],
            "inputs": inputs, "state": [pattern_safe(s) for s in dep["state"]],
            "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"]
            if dep["inputs"] else []}


def _mutations(rnd: random.Random, body: dict, dep: dict) -> dict:
    body = copy.deepcopy(body)
    kind = rnd.randrange(9)
    if kind == 0 and body["inputs"]:  # wrong length
        body["inputs"] = body["inputs"][:-1] if rnd.random() < 0.5 else body["inputs"] * 2
    elif kind == 1:  # outputs of another shape
        body["outputs"] = rnd.choice([[], {}, None, "x", [body["outputs"]] * 3,
                                      {"id": "nope", "property": "children"}])
    elif kind == 2:  # unknown ids and properties
        target = rnd.choice(["inputs", "state"]) if body["state"] else "inputs"
        if body[target]:
            n = rnd.randrange(len(body[target]))
            body[target][n] = {"id": rnd.choice(["nope", {"type": "x", "index": 1}, 5]),
                               "property": rnd.choice(["value", "__proto__", ""]),
                               "value": rnd.choice(HOSTILE)}
    elif kind == 3:  # wrong types for the parts
        key = rnd.choice(["inputs", "state", "outputs", "output", "changedPropIds"])
        body[key] = rnd.choice(HOSTILE)
    elif kind == 4:  # unknown callback
        body["output"] = rnd.choice(["nope.children", "", "..a.b...c.d..", 5])
    elif kind == 5:  # whole body not an object
        return rnd.choice([[], "x", 1, None, [body]])
    else:  # well-formed, hostile values (the most frequent: they reach the callbacks)
        for part in ("inputs", "state"):
            for entry in body[part]:
                if isinstance(entry, dict):
                    entry["value"] = rnd.choice(HOSTILE)
        if body["inputs"] and rnd.random() < 0.5:
            pick = rnd.choice([e for e in body["inputs"] if isinstance(e, dict)] or [None])
            if pick:
                body["changedPropIds"] = [f"{pick['id']}.{pick['property']}"]
    return body


@pytest.mark.parametrize("body", [
    {"output": "health-grid.children"},
    {"output": "nope.children", "outputs": {}, "inputs": []},
    [1, 2, 3],
    "just a string",
])
def test_malformed_bodies_answer_400_json(client, world, body):
    world.login(client, "A-admin")
    resp = _post(client, body)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["error"] == "bad_callback"


def test_outputs_that_do_not_match_the_spec_answer_400_not_500(client, world, dash_app):
    world.login(client, "A-admin")
    deps = client.get("/_dash-dependencies").get_json()
    dep = next(d for d in deps if d["output"].startswith(".."))  # several outputs
    body = _valid_body(dep)
    body["outputs"] = body["outputs"][:1]
    resp = _post(client, body)
    assert resp.status_code == 400 and "Traceback" not in resp.get_data(as_text=True)


def test_cross_site_posts_to_callbacks_are_refused(client, world, dash_app):
    world.login(client, "A-viewer")
    values = {"compressor-id.data": str(world.compressors["A"][0])}
    own = call_callback(client, dash_app, "compressor-header.children", values,
                        headers={"Origin": "http://localhost"})
    assert own.status_code == 200
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Referer": "https://evil.example/page"}):
        resp = call_callback(client, dash_app, "compressor-header.children", values,
                             headers=headers)
        assert resp.status_code == 403 and resp.get_json()["error"] == "cross_site"


def test_fuzzed_callback_bodies_never_answer_5xx(client, world, dash_app, capsys):
    world.login(client, "A-admin")
    deps = client.get("/_dash-dependencies").get_json()
    assert len(deps) >= 60
    rnd = random.Random(SEED)
    bases = [(dep, _valid_body(dep)) for dep in deps]
    statuses: dict[int, int] = {}
    failures = []
    started = time.perf_counter()
    for n in range(CASES):
        dep, base = bases[n % len(bases)]
        body = _mutations(rnd, base, dep)
        try:
            resp = _post(client, body)
        except Exception as exc:  # TESTING propagates what would be a 500
            failures.append((dep["output"][:80], json.dumps(body)[:300], repr(exc)))
            continue
        statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
        if resp.status_code >= 500:
            failures.append((dep["output"][:80], json.dumps(body)[:300],
                             resp.get_data(as_text=True)[:200]))
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n{CASES} fuzzed callback bodies in {elapsed:.1f} s: {sorted(statuses.items())}")
    assert not failures, failures[:5]
