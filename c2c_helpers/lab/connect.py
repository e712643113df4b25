"""connect(): a client for the real service when it is configured, otherwise for an embedded sandbox.

The one glue module between the client and the sandbox (the client modules never import the sandbox).

- ``C2C_API_URL`` and ``C2C_ACCESS_TOKEN`` both set: a :class:`~c2c_helpers.client.C2CClient` for that
  service (Frame.io, or a sandbox started with ``c2c sandbox`` / ``c2c lab``);
- neither set: a :class:`c2c_sandbox.Sandbox` is started on loopback, once per process, stopped when the
  process exits, and the client talks to it with its paired default device;
- only one set: an error, since guessing would send uploads somewhere the user did not mean.

A client for a sandbox carries its controls (``client.controls``: the embedded sandbox, or a
:class:`~c2c_sandbox.remote.RemoteSandbox` when ``C2C_SANDBOX_URL`` names one), so that ``upload_file`` can
wait for the sandbox to assemble a file; a client for the real service has none, and is done when every part
is acknowledged (C2C is "write, but don't read").

Examples
--------
>>> client = connect()  # doctest: +SKIP
>>> client.me()["name"]  # doctest: +SKIP
'Sandbox Camera'
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING

from c2c_helpers._http import CLIENT_VERSION, DEFAULT_TIMEOUT, Timeout
from c2c_helpers.client import C2CClient
from c2c_helpers.errors import ConfigurationError

if TYPE_CHECKING:
    from c2c_sandbox import Sandbox
    from c2c_sandbox.remote import RemoteSandbox

__all__ = ["connect", "device_credentials", "embedded_sandbox", "sandbox_controls", "uses_embedded_sandbox"]

_lock = threading.Lock()
_sandbox: Sandbox | None = None


def uses_embedded_sandbox() -> bool:
    """Whether :func:`connect` would use (or is using) the embedded sandbox: neither variable is set."""
    return not os.environ.get("C2C_API_URL") and not os.environ.get("C2C_ACCESS_TOKEN")


def embedded_sandbox() -> Sandbox:
    """The process's embedded sandbox, started on first use and stopped at exit.

    Use it to do what a person or a fault would: ``approve`` a pairing code, ``pause`` the device,
    ``faults.inject(...)``, ``asset_sha256(id)``.
    """
    global _sandbox
    with _lock:
        if _sandbox is None:
            from c2c_sandbox import Sandbox  # heavy (Flask, botocore): only when actually needed

            sandbox = Sandbox(poll_interval=2)  # Frame.io says 5 s; 2 keeps the lessons brisk
            sandbox.start()
            atexit.register(_stop_embedded)
            _sandbox = sandbox
        return _sandbox


def _stop_embedded() -> None:
    global _sandbox
    with _lock:
        if _sandbox is not None:
            _sandbox.stop()
            _sandbox = None


def connect(*, client_version: str = CLIENT_VERSION, timeout: Timeout = DEFAULT_TIMEOUT) -> C2CClient:
    """Return a client for the configured service, or for the embedded sandbox when none is configured.

    Parameters
    ----------
    client_version : str
        Sent as ``x-client-version``.
    timeout : float or (float, float)
        Connect and read timeouts of every API call.

    Returns
    -------
    C2CClient

    Raises
    ------
    ConfigurationError
        If only one of ``C2C_API_URL`` and ``C2C_ACCESS_TOKEN`` is set.
    """
    url, token = os.environ.get("C2C_API_URL"), os.environ.get("C2C_ACCESS_TOKEN")
    if url and token:
        controls = sandbox_controls()  # a sandbox in another process (C2C_SANDBOX_URL), or None: the real service
        return C2CClient(url, token, client_version=client_version, timeout=timeout, controls=controls)
    if url or token:
        present, missing = ("C2C_API_URL", "C2C_ACCESS_TOKEN") if url else ("C2C_ACCESS_TOKEN", "C2C_API_URL")
        raise ConfigurationError(
            f"{present} is set but {missing} is not: set both to use that service, or neither to use the "
            "embedded sandbox"
        )
    sandbox = embedded_sandbox()
    return C2CClient(
        sandbox.api_url, sandbox.access_token, client_version=client_version, timeout=timeout, controls=sandbox
    )


def sandbox_controls() -> Sandbox | RemoteSandbox | None:
    """The teaching controls (approve, pause, faults, ...) of the sandbox :func:`connect` talks to.

    The embedded sandbox itself; a :class:`~c2c_sandbox.remote.RemoteSandbox` when ``C2C_SANDBOX_URL`` names a
    sandbox in another process (``c2c lab`` sets it); None when talking to the real service, which has no such
    controls (a notebook then skips the steps that need them).
    """
    if uses_embedded_sandbox():
        return embedded_sandbox()
    url = os.environ.get("C2C_SANDBOX_URL")
    if url:
        from c2c_sandbox.remote import RemoteSandbox

        return RemoteSandbox(url)
    return None


def device_credentials() -> tuple[str, str]:
    """The ``(client_id, client_secret)`` a device pairs with.

    From ``C2C_CLIENT_ID`` / ``C2C_CLIENT_SECRET`` when set (your device model's, for the real service;
    ``c2c lab`` sets them for its sandbox), else the embedded sandbox's own.

    Raises
    ------
    ConfigurationError
        When talking to a service other than the embedded sandbox without both variables.
    """
    client_id, secret = os.environ.get("C2C_CLIENT_ID"), os.environ.get("C2C_CLIENT_SECRET")
    if client_id and secret:
        return client_id, secret
    if uses_embedded_sandbox():
        sandbox = embedded_sandbox()
        return client_id or "SN-000123", sandbox.client_secret
    raise ConfigurationError(
        "set C2C_CLIENT_ID and C2C_CLIENT_SECRET (your device's id and its model's secret) "
        "to pair a device with this service"
    )
