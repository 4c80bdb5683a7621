"""A stacked daily bar chart drawn as SVG on the server: no JavaScript, readable without
colour (every bar has a title with its values, and `rows` carries every figure for the
table shown beside the chart)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

WIDTH, HEIGHT, AXIS = 900, 240, 70


def stacked_bars(series: dict[str, Any], currency: str) -> dict[str, Any]:
    days = series["days"]
    largest = max((day["total"] for day in days), default=Decimal(0)) or Decimal(1)
    slot = (WIDTH - AXIS) / max(len(days), 1)
    bar = max(slot * 0.8, 1.0)
    columns = []
    for index, day in enumerate(days):
        x = AXIS + index * slot
        y = float(HEIGHT)
        segments = []
        for group, (label, value) in enumerate(zip(series["groups"], day["values"], strict=True)):
            if not value:
                continue
            height = float(value / largest) * (HEIGHT - 10)
            y -= height
            segments.append(
                {
                    "y": round(y, 2),
                    "height": round(height, 2),
                    "group": group,
                    "title": f"{day['date']:%Y-%m-%d} · {label}: {value:,.2f} {currency}",
                }
            )
        columns.append(
            {
                "x": round(x, 2),
                "width": round(bar, 2),
                "segments": segments,
                "date": day["date"],
                "total": day["total"],
                "label": index % max(len(days) // 8, 1) == 0,
            }
        )
    ticks = [
        {"y": round(HEIGHT - float(f) * (HEIGHT - 10), 1), "value": largest * Decimal(f)}
        for f in ("0", "0.5", "1")
    ]
    return {
        "columns": columns,
        "ticks": ticks,
        "width": WIDTH,
        "height": HEIGHT + 30,
        "axis": AXIS,
        "groups": list(enumerate(series["groups"])),
        "currency": currency,
        "rows": [(day["date"], day["values"], day["total"]) for day in days],
    }
