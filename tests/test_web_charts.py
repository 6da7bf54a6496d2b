"""The SVG charts: well-formed, one bar per count, labels escaped, nothing to load."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harvest.web.charts import paired_bars, stacked_columns

SVG = "{http://www.w3.org/2000/svg}"


def test_stacked_columns_draw_a_bar_per_year_and_status_and_escape_labels() -> None:
    svg = stacked_columns([("2019", "RECRUITING", 2), ("2019", "COMPLETED", 1), ("2020", "<b>&", 3)], "Starts")
    root = ET.fromstring(svg)
    bars = [r for r in root.iter(SVG + "rect") if r.find(SVG + "title") is not None]
    assert sorted(b.find(SVG + "title").text for b in bars) == [
        "2019, COMPLETED: 1",
        "2019, RECRUITING: 2",
        "2020, <b>&: 3",
    ]
    tallest = max(bars, key=lambda b: float(b.get("height")))
    assert tallest.find(SVG + "title").text == "2020, <b>&: 3"  # the top of the scale is the largest column
    assert "<script" not in svg and "href" not in svg


def test_paired_bars_draw_two_bars_per_label() -> None:
    root = ET.fromstring(paired_bars([("Sponsor & Co", 4, 1), ("Other", 2, 0)], ("due", "overdue"), "Due"))
    titles = [t.text for r in root.iter(SVG + "rect") if (t := r.find(SVG + "title")) is not None]
    assert titles == ["Sponsor & Co: 4 due", "Sponsor & Co: 1 overdue", "Other: 2 due", "Other: 0 overdue"]


def test_empty_charts_still_draw_and_say_so() -> None:
    svg = "{http://www.w3.org/2000/svg}"
    columns = ET.fromstring(stacked_columns([], "none"))
    assert columns.tag == f"{svg}svg" and columns.find(f"{svg}title").text == "none"
    assert columns.findall(f"{svg}rect") == []
    assert [t.text for t in columns.findall(f"{svg}text")] == ["no trials"]  # not "1 trials" from an empty scale
    bars = ET.fromstring(paired_bars([], ("a", "b"), "none"))
    assert [t.text for t in bars.findall(f"{svg}text")] == ["a", "b"]  # the legend alone, no bar
    assert len(bars.findall(f"{svg}rect")) == 2
