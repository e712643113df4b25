"""_http: one mapping of failures to errors (client and pairing share it), and log redaction set up by sessions."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
import requests

from c2c_helpers import APIError, AuthError, ChannelPaused, PairingExpired, RateLimited, TransportError
from c2c_helpers._http import (
    URL_LOGGERS,
    RedactingFilter,
    api_error_from_response,
    describe_exception,
    new_session,
    transport_error,
)


def answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = {400: "Bad Request", 401: "Unauthorized", 409: "Conflict", 429: "Too Many Requests"}.get(
        status, "Error"
    )
    response._content = json.dumps(body).encode() if body is not None else b"<html>proxy</html>"
    response.headers.update(headers or {})
    return response


@pytest.mark.parametrize(
    ("status", "body", "kind", "retryable"),
    [
        (401, {"code": 401, "errors": [{"title": "Not Authorized"}]}, AuthError, False),
        (400, {"error": "invalid_client"}, AuthError, False),
        (400, {"error": "expired_token", "error_description": "code expired"}, PairingExpired, False),
        (409, {"code": 409, "errors": [{"title": "Channel Paused"}]}, ChannelPaused, False),
        (429, {"code": 429, "errors": [{"title": "Too Many Requests"}]}, RateLimited, True),
        (503, None, APIError, True),
        (404, {"code": 404, "errors": [{"title": "Not Found"}]}, APIError, False),
    ],
)
def test_each_answer_maps_to_one_error(status: int, body: object, kind: type[APIError], retryable: bool) -> None:
    error = api_error_from_response(answer(status, body), context="POST /x")
    assert type(error) is kind and error.status == status and error.retryable is retryable
    assert str(error).startswith(f"POST /x: {status} ")


def test_expired_pairing_code_is_built_once_with_its_advice() -> None:
    error = api_error_from_response(answer(400, {"error": "expired_token"}), context="POST /v2/auth/token")
    assert isinstance(error, PairingExpired) and error.code == "expired_token"
    assert str(error).endswith("the pairing code expired; request a new code")


def test_a_call_that_must_not_be_repeated_says_so_and_is_not_retryable() -> None:
    error = api_error_from_response(answer(500, None), context="create", not_repeatable="it may exist")
    assert not error.retryable and str(error).endswith("Not retried: it may exist")
    gone = transport_error(
        requests.ConnectionError("refused"), context="create", where="http://h", timeout=(1, 2), not_repeatable="x"
    )
    assert isinstance(gone, TransportError) and not gone.retryable and "Not retried: x" in str(gone)


def test_rate_limit_wait_comes_from_either_header() -> None:
    assert api_error_from_response(answer(429, {}, {"Retry-After": "2"})).retry_after == 2.0  # type: ignore[attr-defined]
    assert api_error_from_response(answer(429, {}, {"x-ratelimit-window": "500"})).retry_after == 0.5  # type: ignore[attr-defined]


def test_requests_failures_are_worded_once_and_redacted() -> None:
    assert describe_exception(requests.ConnectTimeout(), (3, 9)) == "could not connect within 3 s"
    assert describe_exception(requests.ReadTimeout(), (3, 9)) == "no answer within 9 s (read timeout)"
    leaky = requests.ConnectionError("Max retries exceeded with url: /b/k?partNumber=1&X-Amz-Signature=abc123")
    worded = describe_exception(leaky, (3, 9))
    assert worded.startswith("connection failed or was closed") and "abc123" not in worded
    error = transport_error(leaky, context="GET /me", where="http://h", timeout=(3, 9), secrets=["token-value-1"])
    assert error.retryable and "abc123" not in str(error) and str(error).startswith("GET /me: no answer from http://h")


def test_a_new_session_installs_log_redaction_once() -> None:
    code = (
        "import logging; from c2c_helpers._http import URL_LOGGERS, new_session; "
        "before = sum(len(logging.getLogger(n).filters) for n in URL_LOGGERS); new_session(); new_session(); "
        "print(before, sum(len(logging.getLogger(n).filters) for n in URL_LOGGERS))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["0", str(len(URL_LOGGERS))]


def test_the_filter_rewrites_a_presigned_url() -> None:
    new_session().close()
    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, "", 0, '"PUT %s HTTP/1.1" 200', (
        "/b/k?partNumber=1&X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=abc123",
    ), None)  # fmt: skip
    assert RedactingFilter().filter(record)
    assert "abc123" not in record.getMessage() and "partNumber=1" in record.getMessage()
