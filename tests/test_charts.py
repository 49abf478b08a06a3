"""The analytics charts: well-formed SVG, one shape per figure, labels escaped, a title for
screen readers, and the same markup for the same figures."""

import xml.etree.ElementTree as ET

import pytest

from console import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & 日'


def parse(markup):
    root = ET.fromstring(markup)
    assert root.tag == SVG + "svg"
    return root


def bars(root):
    return [r for r in root.iter(SVG + "rect") if "bar" in r.get("class", "").split()]


def titles(element):
    return [t.text for t in element.iter(SVG + "title")]


def test_a_bar_chart_has_one_bar_per_value_and_escaped_labels():
    markup = charts.bar_chart([("7/1", 3), ("7/2", 0), (HOSTILE, 12)], "1日あたりの会話数")
    root = parse(markup)
    assert titles(root)[0] == "1日あたりの会話数" and root.get("aria-label") == "1日あたりの会話数"
    found = bars(root)
    assert len(found) == 3
    assert [titles(bar) for bar in found] == [["7/1: 3"], ["7/2: 0"], [f"{HOSTILE}: 12"]]
    assert "<script>" not in markup
    # The tallest bar is the tallest; a zero is flat; the axis rounds 12 up to 20.
    heights = [float(bar.get("height")) for bar in found]
    assert heights[1] == 0 and heights[2] > heights[0] > 0
    assert "20" in [t.text for t in root.iter(SVG + "text")]


def test_stacked_bars_stack_each_series_and_name_it_in_the_legend():
    markup = charts.stacked_bars(
        ["7/1", "7/2"],
        [("誹謗中傷", [2, 1]), ("乗っ取り", [1, 0]), (HOSTILE, [0, 4])],
        "相談の種類",
    )
    root = parse(markup)
    found = bars(root)
    # Zeros draw nothing: 2 + 1 on the first day, 1 + 4 on the second.
    assert [titles(bar)[0] for bar in found] == [
        "7/1 誹謗中傷: 2",
        "7/1 乗っ取り: 1",
        "7/2 誹謗中傷: 1",
        f"7/2 {HOSTILE}: 4",
    ]
    legend = next(g for g in root.iter(SVG + "g") if g.get("class") == "legend")
    assert [t.text for t in legend.iter(SVG + "text")] == ["誹謗中傷", "乗っ取り", HOSTILE]
    # Each day's pieces sit on each other.
    first, second = found[0], found[1]
    assert float(second.get("y")) + float(second.get("height")) == pytest.approx(float(first.get("y")))


def axis_labels(root):
    axis = next(g for g in root.iter(SVG + "g") if g.get("class") == "axis")
    return [t.text for t in axis.iter(SVG + "text")]


@pytest.mark.parametrize(
    "peak, labels",
    [
        (0, ["0", "1", "2", "3", "4"]),
        (1, ["0", "1", "2", "3", "4"]),
        (5, ["0", "2", "4", "6", "8"]),
        (12, ["0", "5", "10", "15", "20"]),
    ],
)
def test_count_axes_have_whole_numbers_on_every_grid_line(peak, labels):
    assert axis_labels(parse(charts.bar_chart([("7/1", peak)], "会話数"))) == labels
    assert axis_labels(parse(charts.stacked_bars(["7/1"], [("種類", [peak])], "種類"))) == labels


def test_a_line_chart_breaks_where_there_is_no_value():
    markup = charts.line_chart(
        ["7/1", "7/2", "7/3", "7/4"],
        [("引き継ぎ率", [0.5, 0.25, None, 1.0]), ("自己解決率", [0.1, 0.2, 0.3, 0.4])],
        "率の推移",
    )
    root = parse(markup)
    lines = [g for g in root.iter(SVG + "g") if "line" in g.get("class", "").split()]
    assert len(lines) == 2
    assert len(list(lines[0].iter(SVG + "polyline"))) == 1  # 7/4 stands alone after the gap
    assert len(list(lines[1].iter(SVG + "polyline"))) == 1
    assert [titles(point)[0] for point in lines[0].iter(SVG + "circle")] == [
        "7/1 引き継ぎ率: 50.0%",
        "7/2 引き継ぎ率: 25.0%",
        "7/4 引き継ぎ率: 100.0%",
    ]
    assert "100.0%" in [t.text for t in root.iter(SVG + "text")]


def test_many_days_keep_every_bar_but_thin_out_the_labels():
    days = [(f"7/{day}", day) for day in range(1, 32)]
    root = parse(charts.bar_chart(days, "31日"))
    assert len(bars(root)) == 31
    labels = next(g for g in root.iter(SVG + "g") if g.get("class") == "x-labels")
    assert 0 < len(list(labels)) <= charts.MAX_X_LABELS


def test_the_same_figures_give_the_same_markup_and_nothing_gives_an_empty_chart():
    figures = [("web", 3), ("line", 1)]
    assert charts.bar_chart(figures, "チャネル") == charts.bar_chart(list(figures), "チャネル")
    empty = parse(charts.bar_chart([], "データなし"))
    assert bars(empty) == []
    assert bars(parse(charts.stacked_bars([], [], "なし"))) == []
    assert list(parse(charts.line_chart([], [], "なし")).iter(SVG + "polyline")) == []
