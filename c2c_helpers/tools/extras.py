"""What needs an extra: ``pip install .`` alone is the client (requests, tqdm); the sandbox, the test clip's encoder
and JupyterLab come with the ``sandbox``, ``clip`` and ``lab`` extras. A command that needs one says so in one line
(``c2c sandbox: needs the 'sandbox' extra ...: pip install '.[sandbox]' in the kit's folder``) and exits 1."""

from __future__ import annotations

import importlib.util
import sys

__all__ = [
    "COMMAND_EXTRA",
    "EPILOG",
    "EXTRA_MODULES",
    "extra_of",
    "install_hint",
    "missing_module",
    "needs_extra",
    "upload_lacks_a_service",
]

#: The modules each extra brings (``pip install .`` alone has none of them), and what each command needs.
EXTRA_MODULES = {
    "sandbox": ("flask", "werkzeug", "botocore"),
    "clip": ("imageio_ffmpeg",),
    "lab": ("jupyterlab", "ipywidgets", "flask", "werkzeug", "botocore", "imageio_ffmpeg"),
}
COMMAND_EXTRA = {"sandbox": "sandbox", "check": "sandbox", "lab": "lab", "fleet": "sandbox"}
EPILOG = """\
`pip install .` alone is the client: `c2c upload` to the service in C2C_API_URL / C2C_ACCESS_TOKEN.
The other commands need an extra, marked [extra] above:
  sandbox, check, fleet        [sandbox]   pip install '.[sandbox]'
  lab                          [lab]       pip install '.[lab]'   (or: make lab)
  clip, record                 [clip]      pip install '.[clip]'  (until the clip is in the cache)
  upload, with neither C2C_API_URL nor C2C_ACCESS_TOKEN set: an embedded sandbox [sandbox]
"""


def install_hint(extra: str) -> str:
    """How to install ``extra``, in the words a command's one-line refusal uses."""
    return f"pip install '.[{extra}]' in the kit's folder"


def missing_module(extra: str) -> str | None:
    """The first module of ``extra`` that cannot be imported here, or None when the extra is installed."""
    return next((m for m in EXTRA_MODULES[extra] if importlib.util.find_spec(m) is None), None)


def extra_of(module: str | None) -> str | None:
    """The extra that brings ``module`` (a top-level name, as ModuleNotFoundError.name gives it), if one does."""
    top = (module or "").partition(".")[0]
    return next((extra for extra in ("sandbox", "clip", "lab") if top in EXTRA_MODULES[extra]), None)


def needs_extra(command: str, extra: str, module: str) -> int:
    hint = install_hint(extra)
    print(f"c2c {command}: needs the {extra!r} extra ({module} is not installed): {hint}", file=sys.stderr)
    return 1


def upload_lacks_a_service(*, embedded: bool) -> bool:
    """``c2c upload`` with no service configured (`embedded`: it would start a sandbox of its own) and without the
    sandbox extra: say so in one line and return True."""
    missing = missing_module("sandbox") if embedded else None
    if missing:
        print(
            f"c2c upload: C2C_API_URL and C2C_ACCESS_TOKEN must be set (the service to upload to), or the 'sandbox' "
            f"extra installed for an embedded sandbox ({missing} is not installed): {install_hint('sandbox')}",
            file=sys.stderr,
        )
        return True
    return False
