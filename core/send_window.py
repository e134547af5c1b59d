"""The chain-wide send window: when pushes and call uploads may reach customers.

Settings (config/settings/base.py, each from the environment): SEND_WINDOW_DAYS (mon … sun),
SEND_WINDOW_START and SEND_WINDOW_END (HH:MM, Europe/Rome time, the end excluded; 24:00 is
the end of the day) and
SEND_WINDOW_HOLIDAYS (a date `2026-08-14`, a yearly day `12-25`, or `easter` /
`easter-monday`; by default Italy's national holidays). Hours are read on the Italian clock,
so 9:00 is 9:00 in winter and in summer (07:00 or 08:00 UTC) and a change of time changes
nothing.

`send_window_check(when)` answers (allowed, next_opening, reason): whether a send at `when`
may go, the first moment it may (`when` itself when allowed) and, when it may not, why, in
words for the record."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far the next opening is looked for: a year and a week covers any list of holidays.
SEARCH_DAYS = 373
_YEARLY = re.compile(r"(?P<month>\d{2})-(?P<day>\d{2})")


class WindowCheck(NamedTuple):
    allowed: bool
    next_opening: datetime
    reason: str


@lru_cache(maxsize=8)
def _rules(
    days: tuple[str, ...], start: str, end: str, holidays: tuple[str, ...]
) -> tuple[frozenset[int], time, time, frozenset[date], frozenset[tuple[int, int]], bool, bool]:
    """The settings read once (and again whenever they change)."""
    try:
        weekdays = frozenset(DAY_NAMES.index(day.strip().lower()[:3]) for day in days)
    except ValueError:
        raise ImproperlyConfigured(
            f"SEND_WINDOW_DAYS: use {', '.join(DAY_NAMES)} (got {', '.join(days)})"
        ) from None
    try:
        opens = time.fromisoformat(start)
        closes = time.max if end.strip() == "24:00" else time.fromisoformat(end)
    except ValueError:
        raise ImproperlyConfigured("SEND_WINDOW_START and SEND_WINDOW_END are HH:MM") from None
    if not weekdays or opens >= closes:
        raise ImproperlyConfigured("The send window needs a day and a START before its END")
    dates, yearly, easter, easter_monday = set(), set(), False, False
    for entry in (h.strip().lower() for h in holidays if h.strip()):
        if entry in ("easter", "easter-monday"):
            easter, easter_monday = easter or entry == "easter", easter_monday or entry != "easter"
        elif match := _YEARLY.fullmatch(entry):
            yearly.add((int(match["month"]), int(match["day"])))
        else:
            try:
                dates.add(date.fromisoformat(entry))
            except ValueError:
                raise ImproperlyConfigured(
                    f"SEND_WINDOW_HOLIDAYS: {entry!r} is not YYYY-MM-DD, MM-DD, easter or "
                    "easter-monday"
                ) from None
    return weekdays, opens, closes, frozenset(dates), frozenset(yearly), easter, easter_monday


def _settings_rules():
    return _rules(
        tuple(settings.SEND_WINDOW_DAYS),
        settings.SEND_WINDOW_START,
        settings.SEND_WINDOW_END,
        tuple(settings.SEND_WINDOW_HOLIDAYS),
    )


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    line = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * line) // 451
    month, day = divmod(h + line - 7 * m + 114, 31)
    return date(year, month, day + 1)


def send_window_is_holiday(day: date) -> bool:
    _weekdays, _opens, _closes, dates, yearly, easter, easter_monday = _settings_rules()
    if day in dates or (day.month, day.day) in yearly:
        return True
    if easter or easter_monday:
        sunday = easter_sunday(day.year)
        return (easter and day == sunday) or (easter_monday and day == sunday + timedelta(days=1))
    return False


def _open_day(day: date) -> bool:
    return day.weekday() in _settings_rules()[0] and not send_window_is_holiday(day)


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=timezone.get_default_timezone())


def send_window_describe() -> str:
    """The window in words: "Lunedì–Sabato, 09:00–20:00, festivi esclusi"."""
    weekdays, opens, closes, *_holidays = _settings_rules()
    ordered = sorted(weekdays)
    if len(ordered) > 2 and ordered[-1] - ordered[0] == len(ordered) - 1:
        days = f"{WEEKDAYS[ordered[0]]}–{WEEKDAYS[ordered[-1]]}"
    else:
        days = ", ".join(str(WEEKDAYS[n]) for n in ordered)
    return _("%(days)s, %(start)s–%(end)s, holidays excluded") % {
        "days": days,
        "start": opens.strftime("%H:%M"),
        "end": "24:00" if closes == time.max else closes.strftime("%H:%M"),
    }


def send_window_check(when: datetime | None = None) -> WindowCheck:
    """May a send go at `when` (now if None)? (allowed, next_opening, reason): next_opening is
    `when` when allowed; reason is "" when allowed, else why not and when it may go."""
    when = when or timezone.now()
    if timezone.is_naive(when):
        raise ValueError("send_window_check needs an aware datetime")
    _weekdays, opens, closes, *_rest = _settings_rules()
    local = timezone.localtime(when)
    day, clock = local.date(), local.timetz().replace(tzinfo=None)
    if _open_day(day) and opens <= clock and (clock < closes or closes == time.max):
        return WindowCheck(True, when, "")
    if send_window_is_holiday(day):
        why = _("%(day)s is a holiday") % {"day": formats.date_format(day, "SHORT_DATE_FORMAT")}
    elif not _open_day(day):
        why = _("%(weekday)s is not a send day") % {"weekday": WEEKDAYS[day.weekday()]}
    elif clock < opens:
        why = _("before %(start)s") % {"start": opens.strftime("%H:%M")}
    else:
        why = _("after %(end)s") % {"end": closes.strftime("%H:%M")}
    opening = _next_opening(day, clock, opens)
    reason = _("Outside the send window (%(window)s): %(why)s. It goes at %(opening)s.") % {
        "window": send_window_describe(),
        "why": why,
        "opening": formats.date_format(timezone.localtime(opening), "DATETIME_FORMAT"),
    }
    return WindowCheck(False, opening, reason)


def _next_opening(day: date, clock: time, opens: time) -> datetime:
    if _open_day(day) and clock < opens:
        return _at(day, opens)
    for ahead in range(1, SEARCH_DAYS):
        candidate = day + timedelta(days=ahead)
        if _open_day(candidate):
            return _at(candidate, opens)
    raise ImproperlyConfigured("The send window never opens: check SEND_WINDOW_HOLIDAYS")
