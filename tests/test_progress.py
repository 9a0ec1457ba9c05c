"""Progress across visits, and the chart's layout: pure, no app."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from booking.clinician.chart import lay_out_chart
from booking.measures.progress import Change, Measured, trend


def day(n: int) -> date:
    return date(2027, 3, n)


def test_changes_are_measured_from_the_last_visit_that_recorded_the_same_thing():
    points = trend([Measured(day(1), 6, 3.0), Measured(day(8), None, 4.5), Measured(day(15), 3, 5.0)], 2, 2)
    assert [p.pain_change for p in points] == [None, None, Change(-3, True, True)]
    assert [p.function_change for p in points] == [None, Change(1.5, False, True), Change(0.5, False, True)]


def test_a_change_of_exactly_the_threshold_counts_and_direction_says_better_or_worse():
    first, second, third = trend([Measured(day(1), 4, 6.0), Measured(day(8), 6, 4.0), Measured(day(15), 5, 4.0)], 2, 2)
    assert second.pain_change == Change(2, True, False)  # pain up 2: meaningful, and worse
    assert second.function_change == Change(-2, True, False)  # function down 2: meaningful, and worse
    assert third.pain_change == Change(-1, False, True) and third.function_change == Change(0, False, False)


def test_a_change_of_exactly_the_threshold_counts_when_scores_are_stored_as_floats():
    # Function scores come back from their float column; 2.3 - 0.3 in floats is 1.9999999999999998.
    first, second, third = trend([Measured(day(1), 7, 0.3), Measured(day(8), 5, 2.3), Measured(day(15), 4, 4.2)], 2, 2)
    assert second.function_change == Change(Decimal("2.0"), True, True)
    assert second.pain_change == Change(Decimal(-2), True, True)
    assert third.function_change == Change(Decimal("1.9"), False, True)


def test_the_chart_puts_ten_at_the_top_zero_at_the_bottom_and_skips_missing_values():
    chart = lay_out_chart(trend([Measured(day(1), 10, None), Measured(day(8), 0, 5.0)], 2, 2))
    pain, function = chart.lines
    assert pain.markers[0].y == chart.top and pain.markers[1].y == chart.bottom_edge
    assert pain.markers[0].x == chart.left and pain.markers[1].x == chart.right_edge
    assert len(function.markers) == 1 and function.markers[0].y == (chart.top + chart.bottom_edge) / 2
    assert pain.points == f"{chart.left:.1f},{chart.top:.1f} {chart.right_edge:.1f},{chart.bottom_edge:.1f}"
    assert [label for _, label in chart.x_labels] == ["Mar 1", "Mar 8"]
    assert pain.markers[1].change.meaningful


def test_line_names_part_when_both_lines_end_at_the_same_height():
    chart = lay_out_chart(trend([Measured(day(1), 6, 4.0), Measured(day(8), 5, 5.0)], 2, 2))
    pain, function = chart.lines
    assert pain.markers[-1].y == function.markers[-1].y
    assert abs(pain.label_y - function.label_y) >= 15
