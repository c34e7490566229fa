"""The reporting week grid."""

import datetime as dt

from transforms.calendar import last_complete_week_end


def test_data_up_to_friday_completes_the_week_ending_on_the_sunday_after():
    # Fri 2026-03-13: only Sat and Sun remain before Sun 03-15, so that week is complete.
    assert last_complete_week_end(dt.date(2026, 3, 13)) == dt.date(2026, 3, 15)
    # Thu 2026-03-12: Friday is still to come, so the last complete week ends Sun 03-08.
    assert last_complete_week_end(dt.date(2026, 3, 12)) == dt.date(2026, 3, 8)
    # Weeks ending on Friday: a Friday is its own week end; Thursday is not.
    assert last_complete_week_end(dt.date(2026, 3, 13), "friday") == dt.date(2026, 3, 13)
    assert last_complete_week_end(dt.date(2026, 3, 12), "friday") == dt.date(2026, 3, 6)
