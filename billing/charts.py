"""A stacked daily bar chart drawn as SVG on the server: no JavaScript, readable without
colour (every bar has a title with its values, and `rows` carries every figure for the
table shown beside the chart).

The y axis has round ticks (1, 2, 2.5 or 5 times a power of ten) labelled in the currency;
its width and the x labels' anchors are worked out from the labels' length, so that none
sticks out of the drawing.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.utils.html import escape
from django.utils.safestring import mark_safe

from mcloud.clouds.registry import provider_list

WIDTH, HEIGHT = 900, 240
CHAR_WIDTH = 6.6  # the widest a character of the 11 px tick font takes, in SVG units
TICKS = 4  # intervals on the y axis, about
STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


def nice_step(largest: Decimal, intervals: int = TICKS) -> Decimal:
    """The round step that covers `largest` in about `intervals` steps."""
    if largest <= 0:
        return Decimal(1)
    rough = largest / intervals
    power = Decimal(10) ** (rough.adjusted())
    return next(power * m for m in STEPS if power * m >= rough)


def _tick_label(value: Decimal, step: Decimal, currency: str) -> str:
    places = 0 if step == step.to_integral_value() else 2
    return f"{value:,.{places}f} {currency}"


def stacked_bars(series: dict[str, Any], currency: str) -> dict[str, Any]:
    """The chart's parts for the template; the bars come as ready SVG markup, since a
    90-day chart has a thousand of them and the template language is slow at that."""
    days = series["days"]
    largest = max((day["total"] for day in days), default=Decimal(0))
    step = nice_step(largest)
    top = (largest / step).to_integral_value(rounding=ROUND_CEILING) * step if largest else step
    steps = int(top / step)
    tick_values = [step * n for n in range(steps + 1)]
    labels_text = [_tick_label(v, step, currency) for v in tick_values]
    axis = round(max(len(text) for text in labels_text) * CHAR_WIDTH + 12)
    slot = (WIDTH - axis) / max(len(days), 1)
    bar = _coordinate(max(slot * 0.8, 1.0))
    every = max(len(days) // 8, 1)
    keys = series.get("keys") or []
    classes = [_series_class(keys, group) for group in range(len(series["groups"]))]
    rects, labels = [], []
    for index, day in enumerate(days):
        left = axis + index * slot
        x = _coordinate(left)
        y = float(HEIGHT)
        for group, (label, value) in enumerate(zip(series["groups"], day["values"], strict=True)):
            if not value:
                continue
            height = float(value / top) * (HEIGHT - 10)
            y -= height
            title = f"{day['date']:%Y-%m-%d} · {label}: {value:,.2f} {currency}"
            rects.append((x, _coordinate(y), bar, _coordinate(height), classes[group], title))
        if index % every == 0:
            text = f"{day['date']:%b} {day['date'].day}"
            centre = left + slot * 0.4
            half = len(text) * CHAR_WIDTH / 2
            if centre + half > WIDTH:  # the last labels: flush with the right edge
                labels.append((_coordinate(WIDTH), HEIGHT + 22, "end", text))
            else:
                labels.append((_coordinate(max(centre, axis)), HEIGHT + 22, "middle", text))
    ticks = [
        {"y": _coordinate(HEIGHT - float(value / top) * (HEIGHT - 10)), "value": value,
         "label": text}
        for value, text in zip(tick_values, labels_text, strict=True)
    ]  # fmt: skip
    # Only titles and labels hold text (names from the provider): escaped; the rest are
    # numbers formatted here.
    return {
        "bars": mark_safe(  # noqa: S308 - its only text, the titles, is escaped
            "".join(
                f'<rect x="{x}" y="{y}" width="{w}" height="{h}" class="{css}">'
                f"<title>{escape(title)}</title></rect>"
                for x, y, w, h, css, title in rects
            )
        ),
        "labels": mark_safe(  # noqa: S308 - labels escaped too
            "".join(
                f'<text x="{x}" y="{y}" class="tick" text-anchor="{anchor}">{escape(t)}</text>'
                for x, y, anchor, t in labels
            )
        ),
        "ticks": ticks,
        "width": WIDTH,
        "height": HEIGHT + 30,
        "axis": axis,
        "groups": list(zip(classes, series["groups"], strict=True)),
        "currency": currency,
        "rows": [(day["date"], day["values"], day["total"]) for day in days],
    }


def _series_class(keys: list[str], index: int) -> str:
    """A provider's series takes the provider's colour (as on the dashboard); others a
    colour by position."""
    key = keys[index] if index < len(keys) else ""
    if key in {p.key for p in provider_list()}:
        return f"series-{key}"
    return f"g{index}"


def _coordinate(value: float) -> str:
    """An SVG coordinate as text: a float in a template goes through number localization,
    which a 90-day chart of a thousand bars makes the slowest part of the page."""
    return f"{value:.2f}"
