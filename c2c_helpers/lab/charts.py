"""Charts and labelled widgets whose saved form shows the same numbers as the live view.

A notebook is often read where no kernel runs (GitHub, nbviewer, a static site): there a widget is only its
saved ``text/plain``. Everything here displays a live widget *and* a static twin drawn from the same numbers:

- :class:`BarChart`: a row per value (a label, a bar, a note), optionally a marker per row (a model's
  prediction) and a cap (the uplink); its ``text/plain`` is a table of the numbers, and :func:`show_chart`
  displays a PNG of the bars beside it;
- :class:`Labelled`: any widget with the one-line text its saved form should show (a slider's value).

>>> chart = BarChart([("1 worker", 23, 29, "23 Mbps"), ("2 workers", 46, 57, "46 Mbps")], cap=("uplink", 100))
>>> print(chart.text())
1 worker   ██████▋                        23 Mbps
2 workers  █████████████▏                 46 Mbps
uplink     ████████████████████████████▋  100
>>> chart.png()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True

The PNG is encoded by hand (zlib, no imaging library), so the same numbers give the same bytes on every run.
A view, like :mod:`~c2c_helpers.lab.widgets`: nothing else in the package imports it.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import ipywidgets as w
from IPython.display import display

from c2c_helpers.lab.widgets import _TextForm

__all__ = ["BarChart", "Labelled", "show_chart"]

Row = tuple[str, float, float | None, str]
BAR = (76, 120, 168)  # the widgets' blue
MARKER = (30, 30, 30)
CAP = (245, 133, 24)  # orange: the limit
GRID = (230, 230, 230)
WHITE = (255, 255, 255)
EIGHTHS = " ▏▎▍▌▋▊▉█"


def _bar_text(value: float, top: float, width: int = 30) -> str:
    """A bar of block characters, ``width`` characters for ``top``, in eighths."""
    eighths = round(8 * width * max(value, 0) / top) if top > 0 else 0
    full, rest = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[rest] if rest else "")).ljust(width)[: width + 1]


def png(width: int, height: int, pixel: Any) -> bytes:
    """A truecolour PNG of ``width`` × ``height``, ``pixel(x, y)`` giving each (r, g, b)."""
    raw = b"".join(b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


class BarChart(_TextForm, w.VBox):  # type: ignore[misc]  # ipywidgets ships no types
    """Horizontal bars, one row per ``(label, value, marker, note)``; ``cap`` a ``(label, value)`` limit row.

    ``marker`` (or None) is drawn as a thin dark line across the row's bar in the PNG: a prediction to compare
    with (say it in ``note`` too: the note is what the table and the live row show).
    """

    def __init__(self, rows: list[Row], *, cap: tuple[str, float] | None = None, title: str = "") -> None:
        self.rows_data = [(str(label), float(value), marker, str(note)) for label, value, marker, note in rows]
        self.cap = cap
        self.title = title
        values = [x for _, v, m, _ in self.rows_data for x in (v, m) if x is not None]
        self.top = max([*values, cap[1] if cap else 0.0, 1e-9]) * 1.05
        layout = w.Layout(width="9em")
        rows_w = [
            w.HBox(
                [
                    w.Label(label, layout=layout),
                    w.FloatProgress(value=value, max=self.top, layout=w.Layout(width="24em")),
                    w.Label(note),
                ]
            )
            for label, value, marker, note in self.rows_data
        ]
        if cap is not None:
            bar = w.FloatProgress(value=cap[1], max=self.top, bar_style="warning", layout=w.Layout(width="24em"))
            rows_w.append(w.HBox([w.Label(cap[0], layout=layout), bar, w.Label(f"{cap[1]:.0f}: the cap")]))
        super().__init__(([w.HTML(f"<b>{title}</b>")] if title else []) + rows_w)

    def text(self) -> str:
        width = max([len(r[0]) for r in self.rows_data] + [len(self.cap[0]) if self.cap else 0])
        lines = [self.title] if self.title else []
        for label, value, _marker, note in self.rows_data:
            lines.append(f"{label:<{width}}  {_bar_text(value, self.top)} {note}")
        if self.cap is not None:
            lines.append(f"{self.cap[0]:<{width}}  {_bar_text(self.cap[1], self.top)} {self.cap[1]:.0f}")
        return "\n".join(line.rstrip() for line in lines)

    def png(self, *, width: int = 480, row_height: int = 24) -> bytes:
        """The bars as a PNG: blue bars, dark markers, the cap as an orange bar and line."""
        rows = [(v, m, BAR) for _, v, m, _ in self.rows_data]
        if self.cap is not None:
            rows.append((self.cap[1], None, CAP))
        cap_x = round(width * self.cap[1] / self.top) if self.cap else -1
        height = row_height * len(rows)

        def pixel(x: int, y: int) -> tuple[int, int, int]:
            value, marker, colour = rows[y // row_height]
            inside = 4 <= y % row_height < row_height - 4
            if marker is not None and inside and abs(x - round(width * marker / self.top)) <= 1:
                return MARKER
            if inside and x < round(width * value / self.top):
                return colour
            if x == cap_x or abs(x - cap_x) == 1:
                return CAP
            return GRID if y % row_height == row_height - 1 else WHITE

        return png(width, height, pixel)


def show_chart(chart: BarChart) -> None:
    """Display the live chart, then a PNG of it beside (what a page without a kernel shows as the chart)."""
    display(chart)  # type: ignore[no-untyped-call]  # IPython's display is untyped
    legend = "bars: " + ", ".join(f"{label} {note}" for label, _, _, note in chart.rows_data)
    bundle = {"image/png": base64.b64encode(chart.png()).decode("ascii"), "text/plain": legend}
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


class Labelled(_TextForm, w.VBox):  # type: ignore[misc]
    """A widget shown live, whose saved form is ``describe(widget)``: a line that says what it shows.

    >>> slider = w.IntSlider(value=2, min=1, max=8, description="upload URLs")
    >>> print(Labelled(slider, lambda s: f"a slider: upload URLs = {s.value} (1 to 8)").text())
    a slider: upload URLs = 2 (1 to 8)
    """

    def __init__(self, widget: w.Widget, describe: Any) -> None:
        self.widget = widget
        self.describe = describe
        super().__init__([widget])

    def text(self) -> str:
        return str(self.describe(self.widget))
