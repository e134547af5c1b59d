"""The chain's send window (core/send_window.py): days, hours on the Italian clock, holidays,
the next opening, and the changes of time."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from config.settings import base
from core.send_window import easter_sunday, send_window_check, send_window_is_holiday

ROME = ZoneInfo("Europe/Rome")


@pytest.fixture(autouse=True)
def chain_window(settings):
    """The chain's default window (the test settings keep it always open)."""
    settings.SEND_WINDOW_DAYS = base.SEND_WINDOW_DAYS
    settings.SEND_WINDOW_START = base.SEND_WINDOW_START
    settings.SEND_WINDOW_END = base.SEND_WINDOW_END
    settings.SEND_WINDOW_HOLIDAYS = base.SEND_WINDOW_HOLIDAYS
    return settings


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


def test_the_default_window_is_monday_to_saturday_9_to_20():
    assert base.SEND_WINDOW_DAYS == ["mon", "tue", "wed", "thu", "fri", "sat"]
    assert (base.SEND_WINDOW_START, base.SEND_WINDOW_END) == ("09:00", "20:00")


def test_a_weekday_morning_is_open_and_goes_as_asked():
    when = rome(2026, 12, 9, 10, 30)  # a Wednesday
    assert send_window_check(when) == (True, when, "")


@pytest.mark.parametrize(
    ("when", "opening"),
    [
        (rome(2026, 12, 9, 8, 59), rome(2026, 12, 9, 9, 0)),  # before 9: the same day
        (rome(2026, 12, 9, 20, 0), rome(2026, 12, 10, 9, 0)),  # 20:00 is closed: the next day
        (rome(2026, 12, 12, 20, 30), rome(2026, 12, 14, 9, 0)),  # Saturday night → Monday
        (rome(2026, 12, 13, 12, 0), rome(2026, 12, 14, 9, 0)),  # Sunday → Monday
    ],
)
def test_outside_the_hours_or_days_the_next_opening_is_found(when, opening):
    allowed, next_opening, reason = send_window_check(when)
    assert not allowed
    assert next_opening == opening
    assert reason


def test_the_edges_of_the_hours():
    assert send_window_check(rome(2026, 12, 9, 9, 0)).allowed
    assert send_window_check(rome(2026, 12, 9, 19, 59, 59)).allowed
    assert not send_window_check(rome(2026, 12, 9, 20, 0)).allowed


@pytest.mark.parametrize(
    ("when", "opening"),
    [
        (rome(2026, 12, 8, 11, 0), rome(2026, 12, 9, 9, 0)),  # Immacolata, a Tuesday
        (rome(2026, 12, 24, 20, 15), rome(2026, 12, 28, 9, 0)),  # Natale, S. Stefano, Sunday
        (rome(2027, 3, 29, 10, 0), rome(2027, 3, 30, 9, 0)),  # Easter Monday 2027
        (rome(2026, 6, 2, 10, 0), rome(2026, 6, 3, 9, 0)),  # Festa della Repubblica
        (rome(2026, 10, 3, 20, 0), rome(2026, 10, 5, 9, 0)),  # Sat night, Sun 4 Oct: Monday
        (rome(2027, 1, 1, 9, 0), rome(2027, 1, 2, 9, 0)),  # New Year's Day, a Friday
    ],
)
def test_italian_national_holidays_are_closed(when, opening):
    allowed, next_opening, _reason = send_window_check(when)
    assert not allowed and next_opening == opening


def test_the_reason_says_why_and_when_in_italian():
    with translation.override("it"):
        _allowed, _opening, reason = send_window_check(rome(2026, 12, 8, 11, 0))
    assert "Fuori dalla finestra di invio" in reason
    assert "08/12/2026" in reason and "festivo" in reason
    assert "09:00" in reason


def test_easter_is_computed_for_any_year():
    assert [easter_sunday(y) for y in (2025, 2026, 2027, 2028, 2030)] == [
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
        date(2028, 4, 16),
        date(2030, 4, 21),
    ]
    assert send_window_is_holiday(date(2026, 4, 6))  # Pasquetta
    assert not send_window_is_holiday(date(2026, 4, 7))


# --- the changes of time: hours are read on the Italian clock ---------------------------------
def test_spring_forward_saturday_evening_and_the_monday_after():
    # Sunday 29 March 2026 at 02:00 the clocks go to 03:00 (CET +1 → CEST +2).
    assert send_window_check(datetime(2026, 3, 28, 18, 59, tzinfo=UTC)).allowed  # 19:59 CET
    allowed, opening, _ = send_window_check(datetime(2026, 3, 28, 19, 0, tzinfo=UTC))  # 20:00
    assert not allowed
    assert opening == rome(2026, 3, 30, 9, 0)
    assert opening.astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # summer time


def test_fall_back_saturday_evening_and_the_monday_after():
    # Sunday 25 October 2026 at 03:00 the clocks go back to 02:00 (CEST +2 → CET +1).
    assert send_window_check(datetime(2026, 10, 24, 17, 59, tzinfo=UTC)).allowed  # 19:59 CEST
    allowed, opening, _ = send_window_check(datetime(2026, 10, 24, 18, 0, tzinfo=UTC))
    assert not allowed
    assert opening.astimezone(UTC) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # winter time


def test_on_the_day_the_clocks_change_9_is_still_9(chain_window):
    chain_window.SEND_WINDOW_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    allowed, opening, _ = send_window_check(datetime(2026, 3, 29, 6, 30, tzinfo=UTC))  # 08:30
    assert not allowed
    assert opening.astimezone(UTC) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert send_window_check(datetime(2026, 10, 25, 8, 0, tzinfo=UTC)).allowed  # 09:00 CET
    assert not send_window_check(datetime(2026, 10, 25, 7, 30, tzinfo=UTC)).allowed  # 08:30


# --- configured from the environment ----------------------------------------------------------
def test_days_hours_and_holidays_follow_the_settings(chain_window):
    chain_window.SEND_WINDOW_DAYS = ["mon", "tue", "wed", "thu", "fri"]
    chain_window.SEND_WINDOW_START, chain_window.SEND_WINDOW_END = "10:30", "18:00"
    chain_window.SEND_WINDOW_HOLIDAYS = ["2026-12-14", "12-25"]
    assert not send_window_check(rome(2026, 12, 12, 11, 0)).allowed  # Saturday: not a day
    assert send_window_check(rome(2026, 12, 11, 10, 0)).next_opening == rome(2026, 12, 11, 10, 30)
    # Friday evening → Monday the 14th is a holiday of the list → Tuesday.
    assert send_window_check(rome(2026, 12, 11, 18, 0)).next_opening == rome(2026, 12, 15, 10, 30)
    assert send_window_check(rome(2026, 12, 8, 11, 0)).allowed  # not in this list


def test_24_00_keeps_the_window_open_all_day(chain_window):
    chain_window.SEND_WINDOW_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    chain_window.SEND_WINDOW_START, chain_window.SEND_WINDOW_END = "00:00", "24:00"
    chain_window.SEND_WINDOW_HOLIDAYS = []
    assert send_window_check(rome(2026, 12, 13, 23, 59, 59)).allowed
    assert send_window_check(rome(2026, 12, 25, 0, 0)).allowed


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SEND_WINDOW_DAYS", ["lunedi", "xyz"]),
        ("SEND_WINDOW_START", "9am"),
        ("SEND_WINDOW_END", "08:00"),  # before the start
        ("SEND_WINDOW_HOLIDAYS", ["25/12"]),
    ],
)
def test_a_bad_setting_is_a_clear_configuration_error(chain_window, name, value):
    setattr(chain_window, name, value)
    with pytest.raises(ImproperlyConfigured):
        send_window_check(rome(2026, 12, 9, 10, 0))


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        send_window_check(datetime(2026, 12, 9, 10, 0))
