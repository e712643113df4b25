"""Show each HTTP exchange a client made as a learner needs to see it: the equivalent curl, then the answer.

A :class:`Transcript` hooks into a :class:`~c2c_helpers.client.C2CClient`'s session (or any
``requests.Session``) and keeps the exchanges it saw. Each :class:`Exchange` renders as

- the curl command that makes the same request, with ``$C2C_API_URL`` for the host, ``$C2C_ACCESS_TOKEN``
  for the token and ``<upload_urls[i]>`` for a presigned URL, so no secret and no port is ever shown;
- the status line and the JSON (or S3 XML) that came back, with presigned signatures removed and the API's
  base URL shown as ``$C2C_API_URL`` there too (a sandbox's port dies with it: a notebook's saved output must
  not hold it as a link).

Used in the notebooks; nothing else in the package imports it.

Examples
--------
>>> import requests
>>> request = requests.Request("POST", "http://127.0.0.1:8765/v2/devices/assets",
...                            headers={"Authorization": "Bearer s3cr3t", "x-client-version": "2.0.0"},
...                            json={"name": "C2C_TEST_CLIP.mp4", "filesize": 21136250}).prepare()
>>> print(curl(request, api_url="http://127.0.0.1:8765"))
curl -X POST "$C2C_API_URL/v2/devices/assets" \\
    --header "Authorization: Bearer $C2C_ACCESS_TOKEN" \\
    --header 'x-client-version: 2.0.0' \\
    --header 'Content-Type: application/json' \\
    --data-binary @- <<'__JSON__'
{
    "name": "C2C_TEST_CLIP.mp4",
    "filesize": 21136250
}
__JSON__
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import default
from typing import Any
from urllib.parse import parse_qsl

import requests

from c2c_helpers._redact import redact, redact_url

__all__ = ["Exchange", "Transcript", "curl"]

SHOWN_HEADERS = ("authorization", "content-type", "x-client-version", "x-amz-acl", "x-client-platypus-enabled")
SECRET_FIELDS = ("client_secret", "device_code", "refresh_token", "token", "access_token")
#: The shell variable a secret field is shown as, where `c2c sandbox` / `c2c lab` print one (else its name upper-cased).
SHELL_VARIABLES = {"client_secret": "C2C_CLIENT_SECRET"}


def curl(
    request: requests.PreparedRequest,
    *,
    api_url: str | None = None,
    url_names: dict[str, str] | None = None,
    body_from: str | None = None,
) -> str:
    """The curl command for a prepared request, secrets replaced by shell variables or placeholders.

    Parameters
    ----------
    request
        What was sent.
    api_url
        The API's base URL, shown as ``$C2C_API_URL``.
    url_names
        Presigned URLs (as :func:`~c2c_helpers._redact.redact_url` shows them) and the name to show for each,
        e.g. ``<upload_urls[0]>``.
    body_from
        For a part PUT, the shell command that produces the bytes (``head -c N file``); the command then
        reads the body from stdin, as the guide does.
    """
    url = str(request.url)
    key = redact_url(url)
    if url_names and key in url_names:
        shown_url = f'"{url_names[key]}"'
    elif api_url and (at_api := _at_api(_unsigned(url), api_url)).startswith("$C2C_API_URL"):
        shown_url = f'"{at_api}"'
    else:
        shown_url = shlex.quote(redact_url(url))
    lines = [f"curl -X {request.method} {shown_url}"]
    content_type = request.headers.get("Content-Type", "")
    for name, value in request.headers.items():
        if name.lower() not in SHOWN_HEADERS or (name.lower() == "content-type" and "multipart/" in value):
            continue  # curl writes a multipart Content-Type (with its own boundary) itself
        if name.lower() == "authorization":
            lines.append('--header "Authorization: Bearer $C2C_ACCESS_TOKEN"')
        else:
            lines.append(f"--header {shlex.quote(f'{name}: {value}')}")
    body = request.body
    if body_from is not None:
        lines.append("--data-binary @-")
        command = f"{body_from} | \\\n" + " \\\n    ".join(lines)
        return command
    if body:
        text = body.decode() if isinstance(body, bytes) else str(body)
        if content_type.startswith("application/json"):
            pretty = json.dumps(_hide(json.loads(text)), indent=4)
            lines.append("--data-binary @- <<'__JSON__'")
            return " \\\n    ".join(lines) + f"\n{pretty}\n__JSON__"
        if content_type.startswith("application/x-www-form-urlencoded"):
            lines += _fields("--data-urlencode", parse_qsl(text, keep_blank_values=True))
            return " \\\n    ".join(lines)
        if "multipart/form-data" in content_type:
            lines += _fields("--form", _multipart_fields(body, content_type))
    return " \\\n    ".join(lines)


def _unsigned(url: str) -> str:
    """A presigned URL without its signature (a sandbox's part URLs share the API's host); others as they are."""
    return redact_url(url) if "x-amz-" in url.lower() else url


def _at_api(text: str, api_url: str | None) -> str:
    """`text` with every URL under `api_url` written as ``$C2C_API_URL/...`` (``:80`` never matches ``:8080``).

    >>> _at_api('{"uri": "http://127.0.0.1:80/pair", "x": "http://127.0.0.1:8080/"}', "http://127.0.0.1:80")
    '{"uri": "$C2C_API_URL/pair", "x": "http://127.0.0.1:8080/"}'
    """
    if not api_url:
        return text
    return re.sub(re.escape(api_url.rstrip("/")) + r"(?![\w.:@-])", "$C2C_API_URL", text)


def _fields(option: str, fields: list[tuple[str, str]]) -> list[str]:
    """curl options for form fields; secret ones are shown as shell variables."""
    out = []
    for key, value in fields:
        if key in SECRET_FIELDS:
            out.append(f'{option} "{key}=${SHELL_VARIABLES.get(key, key.upper())}"')
        else:
            out.append(f"{option} {shlex.quote(f'{key}={value}')}")
    return out


def _multipart_fields(body: bytes | str, content_type: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of a multipart/form-data body (text fields only)."""
    raw = body if isinstance(body, bytes) else body.encode()
    message = BytesParser(policy=default).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields.append(
                (str(name), part.get_content().strip() if part.get_content_maintype() == "text" else "<file>")
            )
    return fields


def _hide(value: Any) -> Any:
    """JSON with secret fields replaced and presigned URLs without their signature."""
    if isinstance(value, dict):
        return {k: ("<redacted>" if k in SECRET_FIELDS and v else _hide(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v) for v in value]
    if isinstance(value, str) and "X-Amz-" in value:
        return redact_url(value)
    return value


@dataclass
class Exchange:
    """One request and its answer, ready to show."""

    request: requests.PreparedRequest
    response: requests.Response
    api_url: str | None = None
    url_names: dict[str, str] | None = None
    body_from: str | None = None

    @property
    def status(self) -> int:
        return self.response.status_code

    def answer(self) -> str:
        """The status line and the body (JSON pretty-printed, secrets and signatures removed)."""
        response = self.response
        head = f"HTTP {response.status_code} {response.reason}"
        etag = response.headers.get("ETag")
        if etag:
            head += f"\nETag: {etag}"
        if not response.content:
            return head
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                return head + "\n" + _at_api(json.dumps(_hide(response.json()), indent=4), self.api_url)
            except ValueError:
                pass
        text = re.sub(r"(<AWSAccessKeyId>)[^<]*(</AWSAccessKeyId>)", r"\1<redacted>\2", response.text)
        return head + "\n" + _at_api(redact(text), self.api_url)

    def curl(self) -> str:
        """The curl command that makes this request."""
        return curl(self.request, api_url=self.api_url, url_names=self.url_names, body_from=self.body_from)

    def text(self) -> str:
        return f"$ {self.curl()}\n\n{self.answer()}"

    def __repr__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        return f"```bash\n$ {self.curl()}\n```\n```\n{self.answer()}\n```"


class Transcript:
    """Keeps the exchanges a session makes; ``last()`` is the most recent one.

    Parameters
    ----------
    session
        The session to listen to (``client.session``).
    api_url
        The API base URL, shown as ``$C2C_API_URL``.
    """

    def __init__(self, session: requests.Session, api_url: str | None = None) -> None:
        self.api_url = api_url.rstrip("/") if api_url else None
        self.exchanges: list[Exchange] = []
        self.url_names: dict[str, str] = {}
        self.watch(session)

    def watch(self, session: requests.Session) -> requests.Session:
        """Record this session's exchanges too (e.g. the one part uploads use); returns it."""
        session.hooks.setdefault("response", []).append(self._record)
        return session

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.exchanges.append(Exchange(response.request, response, self.api_url, self.url_names))

    def name_urls(self, urls: list[str] | tuple[str, ...], label: str = "upload_urls") -> None:
        """Show these presigned URLs as ``<label[i]>`` in curl commands."""
        for i, url in enumerate(urls):
            self.url_names[redact_url(url)] = f"<{label}[{i}]>"

    def last(self, *, body_from: str | None = None) -> Exchange:
        if not self.exchanges:
            raise LookupError("no request has been made yet")
        exchange = self.exchanges[-1]
        exchange.body_from = body_from
        return exchange

    def clear(self) -> None:
        self.exchanges.clear()
