"""The sandbox's OpenAPI document covers exactly the C2C routes it serves, and real answers match its schemas."""

from __future__ import annotations

import re
import time
from typing import Any

import jsonschema
import pytest
import requests

from c2c_sandbox import Sandbox
from c2c_sandbox.api import create_app


@pytest.fixture(scope="module")
def spec(sandbox: Sandbox) -> dict[str, Any]:
    response = requests.get(f"{sandbox.api_url}/openapi.json", timeout=5)
    assert response.status_code == 200
    return response.json()


def check(spec: dict[str, Any], schema: str, value: Any) -> None:
    resolver = {"components": spec["components"], **spec["components"]["schemas"][schema]}
    jsonschema.validate(value, resolver)


def test_the_document_covers_every_c2c_route_and_nothing_else(sandbox: Sandbox, spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1") and spec["servers"] == [{"url": sandbox.api_url}]
    served = set()
    for rule in create_app(sandbox.model).url_map.iter_rules():
        if rule.rule.startswith("/v2/") or rule.rule == "/health":
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert documented == served
    for path, item in spec["paths"].items():
        for operation in item.values():
            assert operation["responses"], path
            for response in operation["responses"].values():
                for media in response.get("content", {}).values():
                    ref = media["schema"].get("$ref")
                    assert ref is None or ref.split("/")[-1] in spec["components"]["schemas"], ref


def test_real_answers_match_the_schemas(sandbox: Sandbox, spec: dict[str, Any]) -> None:
    base, auth = sandbox.api_url, {"Authorization": f"Bearer {sandbox.access_token}"}
    check(spec, "ProjectDevice", requests.get(f"{base}/v2/devices/me", headers=auth, timeout=5).json())
    created = requests.post(
        f"{base}/v2/devices/assets",
        headers=auth,
        timeout=5,
        json={"name": "a.mp4", "filetype": "video/mp4", "filesize": "21136250", "offset": 3},
    )
    check(spec, "Asset", created.json())
    check(spec, "Asset", requests.get(f"{base}/v2/assets/{created.json()['id']}", headers=auth, timeout=5).json())
    code = requests.post(
        f"{base}/v2/auth/device/code",
        timeout=5,
        data={"client_id": "SN-OPENAPI", "client_secret": sandbox.client_secret},
    ).json()
    check(spec, "DeviceCode", code)
    pending = requests.post(
        f"{base}/v2/auth/token",
        timeout=5,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": "SN-OPENAPI",
            "device_code": code["device_code"],
        },
    )
    check(spec, "OAuthError", pending.json())
    sandbox.approve(code["user_code"])
    time.sleep(1.05)  # the poll interval
    tokens = requests.post(
        f"{base}/v2/auth/token",
        timeout=5,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": "SN-OPENAPI",
            "device_code": code["device_code"],
        },
    ).json()
    check(spec, "Tokens", tokens)
    for bad in ({"filesize": 0}, {"parts": 99}):
        body = {"name": "a.mp4", "filetype": "video/mp4", "filesize": 21136250, **bad}
        check(spec, "Error", requests.post(f"{base}/v2/devices/assets", headers=auth, json=body, timeout=5).json())
    check(spec, "Error", requests.get(f"{base}/v2/devices/me", timeout=5).json())
    with pytest.raises(jsonschema.ValidationError):
        check(spec, "Asset", {"_type": "file", "id": "x"})  # the schemas do refuse what is wrong
