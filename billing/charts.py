"""A stacked daily bar chart drawn as SVG on the server: no JavaScript, readable without
colour (every bar has a title with its values, and `rows` carries every figure for the
table shown beside the chart)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH, HEIGHT, AXIS = 900, 240, 70


def stacked_bars(series: dict[str, Any], currency: str) -> dict[str, Any]:
    """The chart's parts for the template; the bars come as ready SVG markup, since a
    90-day chart has a thousand of them and the template language is slow at that."""
    days = series["days"]
    largest = max((day["total"] for day in days), default=Decimal(0)) or Decimal(1)
    slot = (WIDTH - AXIS) / max(len(days), 1)
    bar = _coordinate(max(slot * 0.8, 1.0))
    every = max(len(days) // 8, 1)
    rects, labels = [], []
    for index, day in enumerate(days):
        x = _coordinate(AXIS + index * slot)
        y = float(HEIGHT)
        for group, (label, value) in enumerate(zip(series["groups"], day["values"], strict=True)):
            if not value:
                continue
            height = float(value / largest) * (HEIGHT - 10)
            y -= height
            title = f"{day['date']:%Y-%m-%d} · {label}: {value:,.2f} {currency}"
            rects.append((x, _coordinate(y), bar, _coordinate(height), group, title))
        if index % every == 0:
            labels.append((x, HEIGHT + 22, f"{day['date']:%b} {day['date'].day}"))
    ticks = [
        {"y": _coordinate(HEIGHT - float(f) * (HEIGHT - 10)), "value": largest * Decimal(f)}
        for f in ("0", "0.5", "1")
    ]
    # Only titles and labels hold text (names from the provider): escaped; the rest are
    # numbers formatted here.
    return {
        "bars": mark_safe(  # noqa: S308 - its only text, the titles, is escaped
            "".join(
                f'<rect x="{x}" y="{y}" width="{w}" height="{h}" class="g{g}">'
                f"<title>{escape(title)}</title></rect>"
                for x, y, w, h, g, title in rects
            )
        ),
        "labels": mark_safe(  # noqa: S308 - labels escaped too
            "".join(f'<text x="{x}" y="{y}" class="tick">{escape(t)}</text>' for x, y, t in labels)
        ),
        "ticks": ticks,
        "width": WIDTH,
        "height": HEIGHT + 30,
        "axis": AXIS,
        "groups": list(enumerate(series["groups"])),
        "currency": currency,
        "rows": [(day["date"], day["values"], day["total"]) for day in days],
    }


def _coordinate(value: float) -> str:
    """An SVG coordinate as text: a float in a template goes through number localization,
    which a 90-day chart of a thousand bars makes the slowest part of the page."""
    return f"{value:.2f}"
