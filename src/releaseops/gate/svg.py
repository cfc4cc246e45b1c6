"""Inline SVG primitives for the evidence pages: scales, ticks, shapes, text, sparklines.

The pages stay self-contained (no script library, no external asset): every chart is an SVG
element written into the HTML, with a <title> so a screen reader and a tooltip can name it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = "font-family:system-ui,sans-serif"


def num(value: float) -> str:
    """A coordinate, short: at most one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def figure(value: float | None, unit: str = "") -> str:
    """A measured value for people: 3 significant digits, then the unit."""
    if value is None:
        return "—"
    if value == 0 or abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        digits = max(0, 2 - math.floor(math.log10(abs(value))))
        text = f"{value:.{digits}f}"
    return f"{text} {unit}".rstrip()


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least `value` (> 0)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10 * power


class Scale:
    """A linear map from a value domain [0, top] onto pixels [left, right]."""

    def __init__(self, top: float, left: float, right: float) -> None:
        self.top = top if top > 0 else 1.0
        self.left = left
        self.right = right

    def __call__(self, value: float) -> float:
        """The pixel of `value`, clipped to the range."""
        share = min(max(value / self.top, 0.0), 1.0)
        return self.left + share * (self.right - self.left)

    def ticks(self, count: int = 4) -> list[float]:
        """`count` + 1 evenly spaced tick values from 0 to the top."""
        return [self.top * i / count for i in range(count + 1)]


def _attrs(attrs: dict[str, str]) -> str:
    """Extra attributes: `stroke_dasharray` -> `stroke-dasharray`, `class_` -> `class`."""
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())


def text(
    x: float, y: float, body: str, *, size: int = 11, anchor: str = "start", **attrs: str
) -> str:
    """A text element; `body` is escaped."""
    extra = _attrs(attrs)
    return (
        f'<text x="{num(x)}" y="{num(y)}" font-size="{size}" text-anchor="{anchor}"'
        f"{extra}>{escape(body)}</text>"
    )


def line(x1: float, y1: float, x2: float, y2: float, stroke: str, **attrs: str) -> str:
    """A line segment."""
    extra = _attrs(attrs)
    return (
        f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
        f'stroke="{stroke}"{extra}/>'
    )


def rect(x: float, y: float, width: float, height: float, fill: str, **attrs: str) -> str:
    """A rectangle (a zero or negative width draws nothing)."""
    extra = _attrs(attrs)
    return (
        f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(width, 0.0))}" '
        f'height="{num(height)}" fill="{fill}"{extra}/>'
    )


def circle(x: float, y: float, radius: float, fill: str, **attrs: str) -> str:
    """A circle centred on (x, y)."""
    return f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(radius)}" fill="{fill}"{_attrs(attrs)}/>'


def svg(width: int, height: int, label: str, body: Sequence[str], **attrs: str) -> str:
    """An inline SVG element of the given size, titled `label`."""
    extra = _attrs(attrs)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'style="{FONT}"{extra}><title>{escape(label)}</title>{"".join(body)}</svg>'
    )


def sparkline(
    values: Sequence[float | None],
    label: str,
    *,
    width: int = 140,
    height: int = 30,
    alarm: bool = False,
) -> str:
    """Values oldest to newest as a line; the newest point is red when `alarm` is set."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        return svg(width, height, f"{label}: no values", [text(2, height - 8, "no data")])
    top = max(v for _, v in known) or 1.0
    span = max(len(values) - 1, 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return 3 + (width - 6) * i / span, height - 3 - (height - 6) * v / top

    points = " ".join(f"{num(x)},{num(y)}" for x, y in (point(i, v) for i, v in known))
    last_x, last_y = point(*known[-1])
    colour = "#cf222e" if alarm else "#0969da"
    body = [
        f'<polyline points="{points}" fill="none" stroke="#57606a" stroke-width="1.2"/>',
        circle(last_x, last_y, 3, colour),
    ]
    return svg(width, height, label, body, class_="sparkline")
