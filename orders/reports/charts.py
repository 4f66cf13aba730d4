"""Server-side SVG charts (pygal), embedded in the page as markup.

The CSP allows no inline script or style, so every chart is rendered without pygal's
JavaScript and with its <style> element removed; the same CSS, scoped to
``svg.mp-chart``, is served once as a stylesheet (``chart_stylesheet``). No chart
references anything outside this site.
"""

from __future__ import annotations

import math
import re
import sys
from functools import cache

import pygal
from markupsafe import Markup
from pygal.style import Style

# pygal appends a legacy import hook (for its optional pygal.maps.* plugins, which we do
# not use) that makes every later failed import warn (ImportWarning: no find_spec).
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

from marketplace.publication import Aggregate  # noqa: E402
from orders.reports.breakdowns import MonthRow  # noqa: E402
from orders.reports.exports import channel_label  # noqa: E402
from orders.reports.households import MonthBenefit  # noqa: E402
from orders.reports.summary import CHANNELS, SummaryFigures  # noqa: E402

FONT = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", sans-serif'
)
# one colour per channel, in CHANNELS order, then more for products
PALETTE = (
    "#198754",  # online: green
    "#fd7e14",  # fair: orange
    "#0d6efd",  # procurement: blue
    "#6f42c1",  # counter: purple
    "#d63384",
    "#20c997",
    "#ffc107",
    "#6c757d",
)
STYLE = Style(
    font_family=FONT,
    background="transparent",
    plot_background="transparent",
    foreground="#444",
    foreground_strong="#222",
    foreground_subtle="#e3e3e3",
    colors=PALETTE,
    opacity="0.9",
    opacity_hover="1",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=13,
    value_label_font_size=13,
    title_font_size=16,
    tooltip_font_size=13,
    no_data_font_size=24,
)
CLASS = "mp-chart"


def _strip_inline(root):
    """Remove <style>, <script> and style attributes (pygal adds them; the CSP would
    refuse them) and pygal's comments naming its web site."""
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag.rsplit("}", 1)[-1] in (
                "style",
                "script",
            ):
                parent.remove(child)
        parent.attrib.pop("style", None)
    return root


def _config(**extra) -> dict:
    return {
        "style": STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "classes": ["pygal-chart", CLASS],
        "explicit_size": False,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "no_data_text": "暂无数据",
        "print_values": False,
        "margin": 12,
        "max_scale": 6,  # a handful of y guides, not one every 10万
        **extra,
    }


def _yuan(fen: int) -> float:
    """Chart coordinates only (a picture, never a sum); tables carry the exact fen."""
    return fen / 100


def _axis_yuan(value) -> str:
    if value is None:
        return ""
    if abs(value) >= 10_000:
        return f"{value / 10_000:,.0f}万"
    return f"{value:,.0f}"


def _svg(chart) -> Markup:
    chart.add_xml_filter(_strip_inline)
    return Markup(chart.render(is_unicode=True))


def channels_chart(s: SummaryFigures) -> Markup:
    """Sales per channel: one horizontal bar each, labelled with the amount."""
    chart = pygal.HorizontalBar(
        **_config(
            width=640,
            height=300,
            value_formatter=_axis_yuan,
            print_values=True,
            print_values_position="top",
            show_legend=True,
            legend_at_bottom_columns=4,
            show_y_guides=False,
        )
    )
    for c in CHANNELS:
        chart.add(channel_label(c), [_yuan(s.channels[c].amount)])
    return _svg(chart)


def monthly_chart(months: list[MonthRow]) -> Markup:
    """Monthly sales stacked by channel; about a dozen month labels whatever the span."""
    chart = pygal.StackedBar(
        **_config(
            width=960,
            height=360,
            value_formatter=_axis_yuan,
            x_label_rotation=0,
            show_minor_x_labels=False,
            x_labels_major_every=max(1, math.ceil(len(months) / 12)),
            truncate_label=-1,
            show_x_guides=False,
        )
    )
    chart.x_labels = [m.month for m in months]
    for c in CHANNELS:
        chart.add(channel_label(c), [_yuan(m.amounts[c]) for m in months])
    return _svg(chart)


def household_chart(rows: list[MonthBenefit], top: int = 5) -> Markup:
    """A household's monthly benefit stacked by product (the largest few, the rest as
    "其他")."""
    totals: dict[int, int] = {}
    names: dict[int, str] = {}
    for r in rows:
        totals[r.product_id] = totals.get(r.product_id, 0) + r.amount
        names[r.product_id] = r.name
    leaders = sorted(totals, key=lambda p: -totals[p])[:top]
    months = sorted({r.month for r in rows})
    index = {m: i for i, m in enumerate(months)}
    series: dict[int, list[int]] = {p: [0] * len(months) for p in leaders}
    other = [0] * len(months)
    for r in rows:
        target = series.get(r.product_id, other)
        target[index[r.month]] += r.amount
    chart = pygal.StackedBar(
        **_config(
            width=720,
            height=320,
            value_formatter=lambda v: f"{v:,.2f}" if v is not None else "",
            show_minor_x_labels=False,
            x_labels_major_every=max(1, math.ceil(len(months) / 8)),
            truncate_label=-1,
            truncate_legend=12,
            legend_at_bottom_columns=len(leaders) + (1 if any(other) else 0) or 1,
            show_x_guides=False,
        )
    )
    chart.x_labels = months
    for product_id, values in series.items():
        chart.add(names[product_id], [_yuan(v) for v in values])
    if any(other):
        chart.add("其他", [_yuan(v) for v in other])
    return _svg(chart)


def impact_chart(years: list[Aggregate]) -> Markup:
    """Public: sales per year, only for the years published."""
    shown = [y for y in years if not y.withheld]
    chart = pygal.Bar(
        **_config(
            width=560,
            height=300,
            value_formatter=_axis_yuan,
            print_values=True,
            print_values_position="top",
            show_legend=False,
            show_x_guides=False,
        )
    )
    chart.x_labels = [y.label for y in shown]
    chart.add("销售额", [_yuan(y.amount) for y in shown])
    return _svg(chart)


@cache
def chart_stylesheet() -> str:
    """pygal's CSS for our style, scoped to ``svg.mp-chart`` instead of one chart id."""
    captured: list[str] = []

    def capture(root):
        for node in root.iter():
            if isinstance(node.tag, str) and node.tag.endswith("style") and node.text:
                captured.append(node.text)
        return root

    chart = pygal.Bar(**_config())
    chart.add_xml_filter(capture)
    for i in range(len(PALETTE)):
        chart.add(str(i), [1])
    chart.render()
    css = "\n".join(captured)
    css = re.sub(r"#chart-[0-9a-f-]+\s?", f"svg.{CLASS} ", css)
    extra = (
        f"svg.{CLASS} {{ width: 100%; height: auto; display: block; }}\n"
        f"svg.{CLASS} text {{ font-family: {FONT}; }}\n"
        # tooltips need pygal's script, which the CSP keeps out
        f"svg.{CLASS} .tooltip {{ display: none; }}\n"
    )
    return css + "\n" + extra
