"""The sandbox's OpenAPI document covers exactly the routes it serves, marks the sandbox's own, and real answers
match its schemas."""

from __future__ import annotations

import re
import time
from typing import Any

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
    import jsonschema  # here, not at the top: its import takes 2 s (rfc3987-syntax compiles a grammar), which
    # every xdist worker would pay while collecting, whether or not it runs these tests

    resolver = {"components": spec["components"], **spec["components"]["schemas"][schema]}
    jsonschema.validate(value, resolver)


def test_the_document_covers_every_route_and_marks_the_sandbox_only_ones(
    sandbox: Sandbox, spec: dict[str, Any]
) -> None:
    assert spec["openapi"].startswith("3.1") and spec["servers"] == [{"url": sandbox.api_url}]
    served, c2c = set(), set()
    for rule in create_app(sandbox.model).url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        methods = {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
        served |= methods
        if rule.rule.startswith("/v2/") or rule.rule == "/health":
            c2c |= methods
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert documented == served
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation["responses"], path
            only = operation.get("x-sandbox-only", False)
            assert only is ((path, method) not in c2c), (path, method)
            assert ("sandbox-only" in operation.get("tags", ())) is only, (path, method)
            if not only and path != "/health":  # every C2C call: the x-client-version header
                assert {"$ref": "#/components/parameters/ClientVersion"} in operation["parameters"], path
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
    refused = requests.get(f"{base}/v2/assets/{created.json()['id']}", headers=auth, timeout=5)
    assert str(refused.status_code) in spec["paths"]["/v2/assets/{asset_id}"]["get"]["responses"]
    check(spec, "Error", refused.json())
    code = requests.post(
        f"{base}/v2/auth/device/code",
        timeout=5,
        data={"client_id": "SN-OPENAPI", "client_secret": sandbox.client_secret, "scope": "asset_create offline"},
    ).json()
    check(spec, "DeviceCode", code)
    pending = requests.post(
        f"{base}/v2/auth/token",
        timeout=5,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": "SN-OPENAPI",
            "device_code": code["device_code"],
            "client_secret": sandbox.client_secret,
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
            "client_secret": sandbox.client_secret,
        },
    ).json()
    check(spec, "Tokens", tokens)
    for bad in ({"filesize": 0}, {"parts": 99}):
        body = {"name": "a.mp4", "filetype": "video/mp4", "filesize": 21136250, **bad}
        check(spec, "Error", requests.post(f"{base}/v2/devices/assets", headers=auth, json=body, timeout=5).json())
    check(spec, "Error", requests.get(f"{base}/v2/devices/me", timeout=5).json())
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        check(spec, "Asset", {"_type": "file", "id": "x"})  # the schemas do refuse what is wrong


def test_the_security_scheme_and_the_c2c_statuses(spec: dict[str, Any]) -> None:
    """A device bearer token with its scopes (asset_read never granted); 400, not 422, for a bad field."""
    scheme = spec["components"]["securitySchemes"]["device"]
    scopes = scheme["flows"]["x-deviceAuthorization"]["scopes"]
    assert set(scopes) == {"asset_create", "offline", "asset_read"}
    paths = spec["paths"]
    assert paths["/v2/devices/assets"]["post"]["security"] == [{"device": ["asset_create"]}]
    assert paths["/v2/assets/{asset_id}"]["get"]["security"] == [{"device": ["asset_read"]}]
    create = paths["/v2/devices/assets"]["post"]["responses"]
    assert {"200", "400", "401", "403", "409", "429"} <= set(create) and "422" not in create
    assert set(paths["/v2/assets/{asset_id}"]["get"]["responses"]) == {"400", "401", "403", "429"}
    assert "filetype" not in spec["components"]["schemas"]["AssetCreate"]["required"]
    assert "scope" in spec["components"]["schemas"]["DeviceCodeRequest"]["required"]
    version = spec["components"]["parameters"]["ClientVersion"]
    assert version["in"] == "header" and version["schema"]["default"] == "0.0.0"


def test_a_token_answer_without_offline_matches_the_schema(sandbox: Sandbox, spec: dict[str, Any]) -> None:
    base = sandbox.api_url
    code = requests.post(
        f"{base}/v2/auth/device/code",
        timeout=5,
        data={"client_id": "SN-OPENAPI-2", "client_secret": sandbox.client_secret, "scope": "asset_create"},
    ).json()
    sandbox.approve(code["user_code"])
    tokens = requests.post(
        f"{base}/v2/auth/token",
        timeout=5,
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": "SN-OPENAPI-2",
            "device_code": code["device_code"],
            "client_secret": sandbox.client_secret,
        },
    ).json()
    assert "refresh_token" not in tokens
    check(spec, "Tokens", tokens)
