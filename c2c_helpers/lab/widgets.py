"""Live ipywidgets views for the notebooks: the asset form, the chunk map and the upload progress panel.

They are views over ``c2c_helpers``, never the other way round: the client emits progress events
(:class:`~c2c_helpers.parts.PartProgress` from ``upload_chunk``, :class:`~c2c_helpers.pool.ProgressEvent`
from ``upload_file``) on the caller's thread and :class:`UploadProgress` is a callable that takes either, folding
them with the same :class:`~c2c_helpers.pool.ProgressTotals` as the worker pool, so the same upload runs
without any widget (scripts, ``c2c upload``). Widgets are only ever updated from the thread that displayed them.

Each widget also has a plain-text form (its ``text()``), used as the ``text/plain`` of its display: that is
what a notebook's saved output shows on GitHub, in a JupyterLab that has not run the cell yet, and in the
regression diff, so it says the same thing on every run (no times, no ids).

This module imports ipywidgets; nothing else in the package imports it.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w
from IPython.display import DisplayHandle, display

from c2c_helpers.chunks import chunk_size, plan_chunks
from c2c_helpers.parts import PartProgress
from c2c_helpers.pool import ProgressEvent, ProgressTotals
from c2c_helpers.request import creation_offset, guess_filetype
from c2c_helpers.upload import UploadResult

__all__ = ["AssetForm", "ChunkMap", "UploadProgress", "show"]

PART_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")
BAR_STYLES = {"queued": "", "sending": "info", "retrying": "warning", "done": "success", "failed": "danger"}


class _TextForm:
    """A widget whose text/plain is its full ``text()`` (ipywidgets would cut its repr at 110 characters)."""

    def text(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = w.DOMWidget._repr_mimebundle_(self, **kwargs)
        bundle["text/plain"] = self.text()
        return bundle  # type: ignore[no-any-return]


def _placeholders(n: int) -> list[str]:
    """Stand-in URLs: the arithmetic needs only how many there are."""
    return [f"part-{i}" for i in range(1, n + 1)]


def show(widget: Any) -> DisplayHandle:
    """Display a widget and return its handle; ``handle.update(widget)`` refreshes the saved text form."""
    handle = display(widget, display_id=True)  # type: ignore[no-untyped-call]  # IPython's display is untyped
    assert isinstance(handle, DisplayHandle)
    return handle


# -- the asset form -----------------------------------------------------------------------------------------
class AssetForm(_TextForm, w.VBox):  # type: ignore[misc]  # ipywidgets ships no types
    """The fields of ``POST /v2/devices/assets``, prefilled from a file, editable, and the request they make.

    Parameters
    ----------
    path
        The file: ``name`` defaults to its name, ``filetype`` to its MIME type, ``filesize`` is its size,
        ``offset`` the seconds since it was created.
    create
        Called with the request body when the button is pressed (e.g. ``lambda body:
        client.create_asset(**body)``); without it the form has no button.
    """

    def __init__(
        self, path: str | Path, *, create: Callable[[dict[str, Any]], Any] | None = None, offset: int | None = None
    ) -> None:
        self.path = Path(path)
        style = {"description_width": "6em"}
        layout = w.Layout(width="32em")
        self.name = w.Text(value=self.path.name, description="name", style=style, layout=layout)
        self.filetype = w.Text(value=guess_filetype(self.path), description="filetype", style=style, layout=layout)
        self.filesize = w.IntText(
            value=self.path.stat().st_size, description="filesize", disabled=True, style=style, layout=layout
        )
        self.offset = w.IntText(
            value=creation_offset(self.path) if offset is None else offset,
            description="offset",
            style=style,
            layout=layout,
        )
        self.parts = w.BoundedIntText(
            value=0,
            min=0,
            max=10_000,
            description="parts",
            style=style,
            layout=layout,
            tooltip="0: let the service choose",
        )
        self.preview = w.HTML()
        self.result = w.Output()
        children: list[w.Widget] = [self.name, self.filetype, self.filesize, self.offset, self.parts, self.preview]
        self._create = create
        if create is not None:
            self.button = w.Button(description="Create asset", button_style="primary", icon="upload")
            self.button.on_click(self._on_click)
            children += [self.button, self.result]
        super().__init__(children)
        for field in (self.name, self.filetype, self.offset, self.parts):
            field.observe(lambda _change: self._render(), names="value")
        self._render()

    def body(self) -> dict[str, Any]:
        """The request body the form describes (``parts`` only when set)."""
        body: dict[str, Any] = {
            "name": self.name.value,
            "filetype": self.filetype.value,
            "filesize": self.filesize.value,
            "offset": self.offset.value,
        }
        if self.parts.value:
            body["parts"] = self.parts.value
        return body

    def text(self) -> str:
        return "POST /v2/devices/assets\n" + json.dumps(self.body(), indent=4)

    def _render(self) -> None:
        self.preview.value = f"<pre style='margin:0.5em 0'>{html.escape(self.text())}</pre>"

    def _on_click(self, _button: w.Button) -> None:
        assert self._create is not None
        self.result.clear_output()
        with self.result:
            answer = self._create(self.body())
            display(answer)  # type: ignore[no-untyped-call]


# -- the chunk map ------------------------------------------------------------------------------------------
class ChunkMap(_TextForm, w.VBox):  # type: ignore[misc]
    """The file as a bar cut into its chunks' byte ranges; a slider changes the number of upload URLs.

    >>> m = ChunkMap(21_136_250, 2)
    >>> print(m.text())
    21,136,250 bytes, 2 upload URLs -> chunk_size = ceil(21136250 / 2) = 10,568,125
      part 1: bytes          0 .. 10,568,124  (10,568,125 bytes)
      part 2: bytes 10,568,125 .. 21,136,249  (10,568,125 bytes)
    >>> m.urls.value = 3
    >>> print(m.text().splitlines()[-1])
      part 3: bytes 14,090,834 .. 21,136,249  ( 7,045,416 bytes)
    """

    def __init__(self, filesize: int, n_urls: int = 2, *, max_urls: int = 8) -> None:
        self.filesize = filesize
        self.urls = w.IntSlider(
            value=n_urls,
            min=1,
            max=max(max_urls, n_urls),
            description="upload URLs",
            style={"description_width": "7em"},
            continuous_update=True,
        )
        self.bar = w.HTML()
        self.table = w.HTML()
        super().__init__([self.urls, self.bar, self.table])
        self.urls.observe(lambda _change: self._render(), names="value")
        self._render()

    def _chunks(self) -> list[tuple[int, int, int]]:
        n = self.urls.value
        return [(c.number, c.start, c.size) for c in plan_chunks(self.filesize, _placeholders(n))]

    def text(self) -> str:
        n = self.urls.value
        lines = [
            f"{self.filesize:,} bytes, {n} upload URL{'s' if n != 1 else ''} -> chunk_size = "
            f"ceil({self.filesize} / {n}) = {chunk_size(self.filesize, n):,}"
        ]
        width = len(f"{self.filesize:,}")
        for number, start, size in self._chunks():
            lines.append(
                f"  part {number}: bytes {start:>{width},} .. {start + size - 1:>{width},}  ({size:>{width},} bytes)"
            )
        return "\n".join(lines)

    def _render(self) -> None:
        cells = []
        for number, _start, size in self._chunks():
            colour = PART_COLOURS[(number - 1) % len(PART_COLOURS)]
            share = 100 * size / self.filesize
            cells.append(
                f"<div title='part {number}: {size:,} bytes' style='width:{share:.4f}%;background:{colour};"
                f"color:#fff;text-align:center;font:12px/28px sans-serif;overflow:hidden;"
                f"border-right:1px solid #fff;box-sizing:border-box'>{number}</div>"
            )
        self.bar.value = (
            "<div role='img' aria-label='chunk map' style='display:flex;width:36em;height:28px;"
            "border:1px solid #555'>" + "".join(cells) + "</div>"
        )
        self.table.value = f"<pre style='margin:0.5em 0'>{html.escape(self.text())}</pre>"


# -- the upload progress panel ------------------------------------------------------------------------------
class UploadProgress(_TextForm, w.VBox):  # type: ignore[misc]
    """A bar per part, the total, the throughput, coloured by state; call it with each progress event.

    Use it as ``upload_file(..., progress=panel)`` or ``upload_chunk(..., progress=panel)``. Made without
    ``part_sizes``, the panel grows a bar for each part the upload announces; made with them, it refuses parts it
    was not made for. It only reads events, so a retry that restarts a part moves that bar back (absolute bytes
    per part), and the total never passes 100%.

    >>> from c2c_helpers.parts import PartProgress
    >>> panel = UploadProgress([10, 5])
    >>> panel(PartProgress(part=1, part_bytes=10, part_size=10, attempt=1, state="done"))
    >>> print(panel.text())
    upload: 10 / 15 bytes (66%), 1 of 2 parts done
      part 1: 10 / 10 bytes (100%) done
      part 2:  0 /  5 bytes (  0%) queued
    """

    def __init__(self, part_sizes: list[int] | tuple[int, ...] = (), *, title: str = "upload") -> None:
        self.title = title
        self.totals = ProgressTotals(part_sizes)
        self.failed_message: str | None = None
        self._fixed = bool(part_sizes)
        self._started: float | None = None
        self._finished: float | None = None
        self._label_layout = w.Layout(width="7em")
        self.bars: list[w.IntProgress] = []
        self.labels: list[w.HTML] = []
        self.rows: list[w.HBox] = []
        self.total_bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="28em"))
        self.total_label = w.HTML()
        self.rate = w.HTML()
        self.total_row = w.HBox([w.Label("total", layout=self._label_layout), self.total_bar, self.total_label])
        super().__init__([self.total_row, self.rate])
        self._add_rows()
        self._render()

    def _add_rows(self) -> None:
        """A row for each part the totals know and the panel does not show yet."""
        while len(self.bars) < len(self.totals.parts):
            bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="28em"))
            label = w.HTML()
            self.bars.append(bar)
            self.labels.append(label)
            self.rows.append(w.HBox([w.Label(f"part {len(self.bars)}", layout=self._label_layout), bar, label]))
        self.children = (*self.rows, self.total_row, self.rate)

    @classmethod
    def for_file(cls, filesize: int, n_parts: int, **kwargs: Any) -> UploadProgress:
        """A panel for a file of ``filesize`` bytes in ``n_parts`` parts (the chunk arithmetic decides sizes)."""
        return cls([c.size for c in plan_chunks(filesize, _placeholders(n_parts))], **kwargs)

    def __call__(self, event: PartProgress | ProgressEvent) -> None:
        if self._fixed and event.part > len(self.totals.parts):  # the service chose more parts than planned
            raise ValueError(f"this panel has {len(self.totals.parts)} parts; the upload sent part {event.part}")
        self.totals.add(event)
        if len(self.bars) < len(self.totals.parts):
            self._add_rows()
        if self._started is None:
            self._started = time.monotonic()
        if self.totals.done == len(self.totals.parts):
            self._finished = time.monotonic()
        self._render(event.part - 1)

    def fail(self, error: BaseException) -> None:
        """Mark the parts that did not finish as failed (call it from an ``except`` around the upload)."""
        self.failed_message = str(error)
        for number, tally in enumerate(self.totals.parts, start=1):
            if tally.state != "done":
                self.totals.set_part(number, sent=tally.sent, state="failed")
        self._render()

    def finish(self, result: UploadResult) -> None:
        """Take the final figures from the upload's result."""
        for part in result.parts:
            self.totals.set_part(part.number, sent=part.bytes, state="done", attempts=part.attempts)
        self._render()

    @property
    def sizes(self) -> list[int]:
        """Each part's size."""
        return [p.size for p in self.totals.parts]

    @property
    def bytes_sent(self) -> int:
        return self.totals.bytes_sent

    @property
    def total_size(self) -> int:
        return self.totals.total

    def text(self) -> str:
        parts, total = self.totals.parts, self.totals.total
        pct = 100 * self.bytes_sent // total if total else 100
        lines = [
            f"{self.title}: {self.bytes_sent:,} / {total:,} bytes ({pct}%), {self.totals.done} of "
            f"{len(parts)} parts done"
        ]
        width = len(f"{max(self.sizes, default=0):,}")
        for i, p in enumerate(parts):
            part_pct = 100 * p.sent // p.size if p.size else 100
            retries = p.attempts - 1
            note = f", {retries} retr{'ies' if retries != 1 else 'y'}" if retries > 0 else ""
            lines.append(
                f"  part {i + 1}: {p.sent:>{width},} / {p.size:>{width},} bytes ({part_pct:>3}%) {p.state}{note}"
            )
        if self.failed_message:
            lines.append(f"  failed: {self.failed_message}")
        return "\n".join(lines)

    def _render(self, only: int | None = None) -> None:
        parts = self.totals.parts
        for i in range(len(parts)) if only is None else [only]:
            p = parts[i]
            self.bars[i].max = max(p.size, 1)
            self.bars[i].value = p.sent
            self.bars[i].bar_style = BAR_STYLES.get(p.state, "")
            retries = p.attempts - 1
            extra = f" · {retries} retr{'ies' if retries != 1 else 'y'}" if retries > 0 else ""
            pct = 100 * p.sent // max(p.size, 1)
            self.labels[i].value = f"<span style='font-family:monospace'>{pct}% {p.state}{extra}</span>"
        self.total_bar.max = max(self.totals.total, 1)
        self.total_bar.value = self.bytes_sent
        done = all(p.state == "done" for p in parts)
        failed = any(p.state == "failed" for p in parts)
        self.total_bar.bar_style = "success" if done else "danger" if failed else "info"
        self.total_label.value = (
            f"<span style='font-family:monospace'>{self.bytes_sent:,} / {self.totals.total:,} bytes</span>"
        )
        if self._started is not None:
            elapsed = (self._finished or time.monotonic()) - self._started
            if elapsed > 0:
                self.rate.value = f"<small>{self.bytes_sent / elapsed / 1e6:.1f} MB/s</small>"
        if self.failed_message:
            self.rate.value = f"<small style='color:#a4161a'>{html.escape(self.failed_message)}</small>"
