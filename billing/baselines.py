"""A day's expected cost, worked out from the same series' own recent days: the method every
anomaly's figures come from. Nothing is trained or fitted; each figure can be recomputed by
hand from the daily costs on the billing page.

The series is one account's daily cost of one service in one currency, summed over regions.
For a day D:

1. **History.** The 28 days before D. A day without a cost row counts as 0 once the account
   has costs (a service switched off costs nothing); days before the account's first cost
   are unknown. Fewer than 14 known days: no expectation, so a new account flags nothing.
2. **Weekday seasonality.** The 28 days are four weeks (the 7 days before D, the 7 before
   those, ...). Each day departs from its own week's median; a weekday's offset is the
   median of its four departures ("Saturdays run 65 below their week", "Wednesdays, the
   batch day, 200 above"). Deseasonalized, each day is its cost less its weekday's offset,
   and the level is the median of the 28 deseasonalized days. D is expected to cost the
   level plus its weekday's offset: weekends that are lower (or a batch day that is higher)
   every week are expected as they are. Offsets taken within each week, not from 28-day
   weekday medians, stay true while the level moves (a step up does not read as "Mondays
   cost more"), and they work for services that cost nothing at weekends (a factor of
   zero divides nothing).
3. **Spread.** What is left of each day once its week's median and its weekday's offset
   are taken away; the spread is 1.4826 times the median absolute deviation of those
   leftovers (the MAD, scaled so that it estimates a standard deviation). Medians
   throughout: one spike in the history moves neither the expectation nor the spread.
4. **Range.** expected ± band, where the band is the largest of 4 spreads, 20 % of the
   expected cost, and the minimum amount (BILLING_ANOMALY_MIN_AMOUNT): a flat series' tiny
   wobble and a few pennies never alert. The low end stops at 0.
5. **Steps it absorbs.**
   - *A new level that holds.* When the median of the 3 deseasonalized days before D is
     above the level by more than the band, spending has moved: that median is the level.
     A step up is flagged on its first two days, and from the third day on (two of the last
     three days at the new level) it is the new normal, long before the 28 days' median
     catches up.
   - *Month-start charges.* On the 1st of a month, the expectation is at least the median of
     the previous months' 1sts (up to 3, those in the account's history): a support fee or
     reservation charge billed on every 1st is expected on the 1st. The first such charge,
     with no earlier 1st to learn from, is flagged.
6. **Verdict.** D is an anomaly when its cost is above the range. Only rises are flagged: a
   drop costs nothing, and a day the provider is still adding to looks like one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

ZERO = Decimal(0)
WINDOW_DAYS = 28
MIN_KNOWN_DAYS = 14
SPREADS = Decimal(4)
MAD_TO_SPREAD = Decimal("1.4826")
RELATIVE = Decimal("0.2")
RECENT_DAYS = 3  # the days whose median reveals a new level
MONTH_STARTS = 3  # previous 1sts of the month compared with a 1st


@dataclass(frozen=True)
class Expected:
    """What a day was expected to cost: `typical` and the range [low, high] around it."""

    typical: Decimal
    low: Decimal
    high: Decimal

    def broken_by(self, actual: Decimal) -> bool:
        return actual > self.high


def _month_back(day: date, months: int) -> date:
    """The 1st of the month `months` before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def history_start(day: date) -> date:
    """The earliest day `expected_range` reads for `day` (its 28 days or previous 1sts)."""
    return min(day - timedelta(days=WINDOW_DAYS), _month_back(day, MONTH_STARTS))


def expected_range(
    amounts: Mapping[date, Decimal], day: date, *, first_known: date, minimum: Decimal
) -> Expected | None:
    """The range `day` was expected to fall in, from `amounts` (the series' daily costs;
    a missing day is 0 from `first_known` on), or None without enough history. `minimum`
    is the smallest band, in the series' currency."""
    window = [day - timedelta(days=n) for n in range(WINDOW_DAYS, 0, -1)]
    known = [d for d in window if d >= first_known]
    if len(known) < MIN_KNOWN_DAYS:
        return None
    value = {d: amounts.get(d, ZERO) for d in known}
    weeks = [
        known_days
        for week in range(WINDOW_DAYS // 7)
        if (known_days := [d for d in window[week * 7 : week * 7 + 7] if d in value])
    ]
    week_median = {d: median(value[x] for x in days) for days in weeks for d in days}
    departures: dict[int, list[Decimal]] = {}
    for d in known:
        departures.setdefault(d.weekday(), []).append(value[d] - week_median[d])
    offset = {weekday: median(values) for weekday, values in departures.items()}
    leftover = [value[d] - week_median[d] - offset[d.weekday()] for d in known]
    centre = median(leftover)
    spread = MAD_TO_SPREAD * median(abs(x - centre) for x in leftover)
    deseasonalized = {d: value[d] - offset[d.weekday()] for d in known}
    level = median(deseasonalized.values())
    season = offset.get(day.weekday(), ZERO)

    def band(typical: Decimal) -> Decimal:
        return max(SPREADS * spread, RELATIVE * max(typical, ZERO), minimum)

    recent = [deseasonalized[d] for d in window[-RECENT_DAYS:] if d in deseasonalized]
    if len(recent) == RECENT_DAYS and median(recent) - level > band(level + season):
        level = median(recent)  # the last days hold a new, higher level
    typical = max(level + season, ZERO)
    if day.day == 1:
        firsts = [
            amounts.get(first, ZERO)
            for first in (_month_back(day, n) for n in range(1, MONTH_STARTS + 1))
            if first >= first_known
        ]
        if firsts:
            typical = max(typical, median(firsts))
    width = band(typical)
    return Expected(typical=typical, low=max(typical - width, ZERO), high=typical + width)
