"""Play an uploaded asset in a notebook, with a saved form that holds no link.

:func:`show_player` displays a still frame and a play button; pressed, it becomes a ``<video>`` (or ``<audio>``)
player that streams the asset's original from a sandbox while the kernel runs. What a notebook *saves* of that
output (what GitHub, a reviewer and a JupyterLab that has not run the cell yet see, and its widget state)
is a one-line note and, for video, a still frame taken from the uploaded bytes: never the player's URL, whose
port dies with the sandbox that served it.

>>> show_player(sandbox_controls(), asset.id)  # doctest: +SKIP

The controls are a sandbox's (:func:`c2c_helpers.lab.connect.sandbox_controls`: a ``Sandbox`` or a
``RemoteSandbox``; only their ``api_url`` and ``asset_detail()`` are used, so this module imports neither), or
None for the real service, which plays assets in its own web app. The still frame comes from the ffmpeg that
``imageio-ffmpeg`` bundles (the ``clip`` extra); without it there is only the note.

A view, like :mod:`~c2c_helpers.lab.widgets`: nothing else in the package imports it.
"""

from __future__ import annotations

import base64
import html
import subprocess
from typing import Any, Protocol

import ipywidgets as w
from IPython.display import Image, display

__all__ = ["PLAYABLE", "Player", "plays_in_browser", "show_player", "still_frame"]

#: Media types browsers play in a ``<video>``/``<audio>`` element (QuickTime, MXF, RAW and the like they do not).
PLAYABLE = frozenset(
    {
        "video/mp4",
        "video/webm",
        "video/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/ogg",
        "audio/webm",
        "audio/flac",
        "audio/wav",
        "audio/wave",
        "audio/x-wav",
    }
)


class Controls(Protocol):
    """What the player needs of a sandbox's controls."""

    api_url: str

    def asset_detail(self, asset_id: str) -> dict[str, Any] | None: ...


def plays_in_browser(filetype: str) -> bool:
    """Whether a browser plays media of this type inline (``video/mp4`` yes, ``video/quicktime`` no)."""
    return filetype.split(";")[0].strip().lower() in PLAYABLE


class Player(w.VBox):  # type: ignore[misc]
    """A player for one asset of a sandbox: a still frame and a play button; saved, :meth:`text` and the still.

    The media element (and with it the sandbox's URL) exists only after the button is pressed, in the live
    kernel: the widget state a notebook saves holds the still frame and the note, never a link to a port.
    """

    def __init__(self, controls: Controls | None, asset_id: str, *, width: int = 480, still_at: float = 1.0) -> None:
        self.detail = controls.asset_detail(asset_id) if controls is not None else None
        self.url = None
        if controls is not None and self.detail and self.detail.get("original"):
            self.url = controls.api_url.rstrip("/") + self.detail["original"]
        self.width = width
        self._still = None
        if controls is not None and self.url and self.detail and self.detail["filetype"].lower().startswith("video/"):
            self._still = still_frame(controls, asset_id, at=still_at, width=width)
        self.screen = w.HTML(value=f"<p>{html.escape(self.text())}</p>")
        children: list[w.Widget] = [self.screen]
        if self._still is not None:
            children = [w.Image(value=self._still.data, format="jpeg", width=width), self.screen]
        if self.playable:
            self.button = w.Button(description="play", icon="play", tooltip="stream the clip from the sandbox")
            self.button.on_click(self._play)
            children.append(self.button)
        super().__init__(children)

    @property
    def playable(self) -> bool:
        return bool(self.url and self.detail and plays_in_browser(self.detail["filetype"]))

    @property
    def value(self) -> str:
        """The HTML the player shows once played: the media element, or the note when there is nothing to play."""
        return self._element(self.width) if self.playable else f"<p>{html.escape(self.text())}</p>"

    def _play(self, _button: Any = None) -> None:
        """Swap the still for the media element (live only: the URL is the running sandbox's)."""
        self.children = [w.HTML(value=self.value)]

    def _element(self, width: int) -> str:
        assert self.detail is not None and self.url is not None
        tag = "video" if self.detail["filetype"].lower().startswith("video/") else "audio"
        size = f' width="{width}"' if tag == "video" else ""
        name = html.escape(self.detail["name"], quote=True)
        src = html.escape(self.url, quote=True)
        return f'<{tag} controls autoplay preload="metadata" src="{src}" aria-label="{name}"{size}></{tag}>'

    def text(self) -> str:
        """The saved note: what the cell shows when it runs, with no URL."""
        if self.detail is None:
            return "no sandbox here: Frame.io plays the uploaded file in its own web app"
        what = f"{self.detail['name']} ({self.detail['filetype']}, {self.detail['filesize']:,} bytes)"
        if self.url is None:
            return f"{what}: not assembled yet ({self.detail['status']}), so there is nothing to play"
        if not self.playable:
            return f"{what}: browsers do not play this type inline; the sandbox's page offers the original to download"
        kind = "clip" if self.detail["filetype"].lower().startswith("video/") else "recording"
        return f"▶ {what}: the {kind} plays here when you run this cell"

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle = dict(w.DOMWidget._repr_mimebundle_(self, **kwargs))
        bundle["text/plain"] = self.text()
        metadata: dict[str, Any] = {}
        if self._still is not None:
            bundle["image/jpeg"] = base64.b64encode(self._still.data).decode("ascii")
            metadata["image/jpeg"] = {"width": self.width}
        return bundle, metadata


def show_player(controls: Controls | None, asset_id: str, *, width: int = 480, still_at: float = 1.0) -> None:
    """Display a :class:`Player` for ``asset_id`` (returns None, so a cell's last line shows it once)."""
    display(Player(controls, asset_id, width=width, still_at=still_at))  # type: ignore[no-untyped-call]


def still_frame(controls: Controls, asset_id: str, *, at: float = 1.0, width: int = 480) -> Image | None:
    """A JPEG (about 10 kB) of the frame at ``at`` seconds of an assembled video asset, ``width`` pixels wide.

    None if there is none: not assembled, not a video ffmpeg can read, or no bundled ffmpeg. Bit-exact options
    (one thread, no CPU-specific code) make the same bytes on every run and machine, for notebook regression.
    """
    detail = controls.asset_detail(asset_id)
    if not detail or not detail.get("original"):
        return None
    try:
        import imageio_ffmpeg  # the `clip` extra; optional here
    except ImportError:
        return None
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-cpuflags", "0", "-threads", "1",
        "-ss", f"{max(at, 0.0):.3f}", "-i", controls.api_url.rstrip("/") + detail["original"],
        "-frames:v", "1", "-vf", f"scale={int(width)}:-2", "-sws_flags", "bicubic+accurate_rnd+bitexact",
        "-flags:v", "+bitexact", "-fflags", "+bitexact", "-q:v", "5", "-f", "image2pipe", "-c:v", "mjpeg", "-",
    ]  # fmt: skip
    try:
        proc = subprocess.run(command, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or not proc.stdout.startswith(b"\xff\xd8"):
        return None
    return Image(data=proc.stdout, format="jpeg", width=width)  # type: ignore[no-untyped-call]
