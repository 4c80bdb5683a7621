"""A stacked daily bar chart drawn as SVG on the server: no JavaScript, readable without
colour (every bar has a title with its values, and `rows` carries every figure for the
table shown beside the chart).

A day with cost anomalies gets a marker above its bar and, where its amounts convert to the
chart's currency, a whisker showing the range the day's total was expected in: the day's
other costs plus each anomalous service's expected range. Both have titles, and `notes`
gives the table each day's anomalies in words.

The y axis has round ticks (1, 2, 2.5 or 5 times a power of ten) labelled in the currency;
its width and the x labels' anchors are worked out from the labels' length, so that none
sticks out of the drawing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.utils.html import escape
from django.utils.safestring import mark_safe

from billing.models import Anomaly
from billing.money import Money
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


@dataclass
class DayMark:
    """A day's anomalies on the chart: their words, and the sum of their actual, low and
    high amounts in the chart's currency (None where one has no rate)."""

    texts: list[str] = field(default_factory=list)
    actual: Decimal | None = Decimal(0)
    low: Decimal | None = Decimal(0)
    high: Decimal | None = Decimal(0)


def anomaly_marks(
    anomalies: Iterable[Anomaly], currency: str, rates: dict[str, float]
) -> dict[date, DayMark]:
    """Each day's anomalies, for `stacked_bars`."""
    marks: dict[date, DayMark] = {}
    for anomaly in anomalies:
        mark = marks.setdefault(anomaly.day, DayMark())
        code = anomaly.currency
        mark.texts.append(
            f"Anomaly: {anomaly.account.name} · {anomaly.service}: {anomaly.actual:,.2f} {code}"
            f", expected {anomaly.expected_low:,.2f} to {anomaly.expected_high:,.2f} {code}"
        )
        for name in ("actual", "low", "high"):
            amount = anomaly.actual if name == "actual" else getattr(anomaly, f"expected_{name}")
            converted = Money({code: amount}).converted(currency, rates)
            before = getattr(mark, name)
            setattr(mark, name, None if None in (before, converted) else before + converted)
    return marks


def stacked_bars(
    series: dict[str, Any],
    currency: str,
    marks: dict[date, DayMark] | None = None,
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The chart's parts for the template; the bars come as ready SVG markup, since a
    90-day chart has a thousand of them and the template language is slow at that. A
    series whose key has a link in `links` (the page filtered to it) is clickable."""
    marks = marks or {}
    links = links or {}
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
    rects, labels, flags = [], [], []
    for index, day in enumerate(days):
        left = axis + index * slot
        x = _coordinate(left)
        y = float(HEIGHT)
        mark = marks.get(day["date"])
        if mark is not None:
            flags.append(_flag(mark, day["total"], top, left + float(bar) / 2, float(bar)))
        for group, (label, value) in enumerate(zip(series["groups"], day["values"], strict=True)):
            if not value:
                continue
            height = float(value / top) * (HEIGHT - 10)
            y -= height
            title = f"{day['date']:%Y-%m-%d} · {label}: {value:,.2f} {currency}"
            link = links.get(keys[group], "") if group < len(keys) else ""
            rects.append((x, _coordinate(y), bar, _coordinate(height), classes[group], title, link))
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
        "bars": mark_safe(  # noqa: S308 - its only text, the titles and links, is escaped
            "".join(
                (f'<a href="{escape(link)}">' if link else "")
                + f'<rect x="{x}" y="{y}" width="{w}" height="{h}" class="{css}">'
                f"<title>{escape(title)}{' (click to filter)' if link else ''}</title></rect>"
                + ("</a>" if link else "")
                for x, y, w, h, css, title, link in rects
            )
        ),
        "anomalies": mark_safe("".join(flags)),  # noqa: S308 - its titles are escaped
        "notes": {day: " ".join(mark.texts) for day, mark in marks.items()},
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


def _flag(mark: DayMark, total: Decimal, top: Decimal, centre: float, bar: float) -> str:
    """A day's anomaly marker above its bar, and the whisker of its expected total."""

    def height(value: Decimal) -> float:
        return HEIGHT - float(max(value, Decimal(0)) / top) * (HEIGHT - 10)

    title = escape(" ".join(mark.texts))
    cx = _coordinate(centre)
    parts = []
    if mark.actual is not None and mark.low is not None and mark.high is not None and total:
        rest = total - mark.actual
        low, high = height(rest + mark.low), height(rest + mark.high)
        left, right = _coordinate(centre - bar / 2), _coordinate(centre + bar / 2)
        parts.append(
            f'<g class="expected"><title>Expected: {title}</title>'
            f'<line x1="{cx}" x2="{cx}" y1="{_coordinate(high)}" y2="{_coordinate(low)}"></line>'
            f'<line x1="{left}" x2="{right}" y1="{_coordinate(high)}" y2="{_coordinate(high)}">'
            f'</line><line x1="{left}" x2="{right}" y1="{_coordinate(low)}" '
            f'y2="{_coordinate(low)}"></line></g>'
        )
    cy = _coordinate(max(height(total) - 7, 5.0))
    parts.append(
        f'<circle cx="{cx}" cy="{cy}" r="4" class="anomaly"><title>{title}</title></circle>'
    )
    return "".join(parts)


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


def sparkline(values: list[Decimal], width: int = 120, height: int = 28) -> str:
    """An SVG polyline's points for `values`, left to right, the largest at the top (a
    2-pixel margin so the stroke is not clipped)."""
    if not values:
        return ""
    largest = max(max(values), Decimal(0)) or Decimal(1)
    step = width / max(len(values) - 1, 1)
    usable = height - 4
    return " ".join(
        f"{_coordinate(index * step)},{_coordinate(2 + usable - float(value / largest) * usable)}"
        for index, value in enumerate(values)
    )
