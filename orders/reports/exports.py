"""The report tables, built once and shown the same way on a page, in CSV and in XLSX.

A ``Table`` holds columns (with a kind: text, int, or fen) and rows of plain values;
the page template, ``to_csv`` and ``to_xlsx`` all read it, so an export always carries
the numbers the page shows. Money stays integer fen until the edge: ``1,234.50`` on the
page, ``1234.50`` in CSV, a 2-decimal number in XLSX.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from marketplace import tabular
from marketplace.pagination import Page
from orders.reports.breakdowns import (
    DimRow,
    DrivenHousehold,
    GeoLevel,
    MonthBenefit,
    MonthRow,
    ProductBenefit,
)
from orders.reports.summary import CHANNELS, SummaryFigures

TEXT, INT, FEN = "text", "int", "fen"


def channel_label(channel: str) -> str:
    return {
        "online": _("线上商城"),
        "fair": _("扶贫集市"),
        "procurement": _("单位采购"),
        "counter": _("扶贫专柜"),
    }.get(channel, channel)


@dataclass(frozen=True)
class ReportColumn:
    """A column of a report table: its key in the rows, header, and kind of value."""

    key: str
    header: str
    kind: str = TEXT


@dataclass
class Table:
    name: str  # the export's file name stem and the page's anchor
    title: str
    columns: list[ReportColumn]
    rows: list[dict]  # column key -> value; "_url" -> a link for the first column
    total: dict | None = None  # a 合计 row, shown last and exported
    page: Page | None = None  # the page shown, when the table is paginated
    note: str = ""

    def all_rows(self) -> list[dict]:
        return self.rows + ([self.total] if self.total else [])


def _yuan(fen: int) -> tabular.Yuan:
    """Money in a text column (the summary's values): a number, never a string that a
    minus sign would turn into a defused formula in the files."""
    return tabular.yuan(fen)


def _total_row(rows: list[dict], columns: list[ReportColumn], label_key: str) -> dict:
    total = {c.key: "" for c in columns}
    total[label_key] = _("合计")
    for c in columns:
        if c.kind in (INT, FEN):
            total[c.key] = sum(int(r.get(c.key) or 0) for r in rows)
    return total


# -- builders ---------------------------------------------------------------------


def certified_sales_note() -> str:
    """What 认定产品销售额 counts, said next to it."""
    return _(
        "认定产品销售额：销售当天持有有效扶贫产品认定证书的产品的销售额（扣除退款）；"
        "未认定、认定已过期或被暂停的产品的销售不计入。"
    )


def summary_table(s: SummaryFigures) -> Table:
    columns = [ReportColumn("figure", _("指标")), ReportColumn("value", _("数值"))]
    rows = [
        {"figure": _("销售总额（元）"), "value": _yuan(s.total_amount)},
        {"figure": _("带动建档立卡户（户）"), "value": s.households_driven},
        {"figure": _("带动人次"), "value": s.person_times},
        {"figure": _("已归属到户金额（元）"), "value": _yuan(s.attributed_amount)},
        {"figure": _("未归属金额（元）"), "value": _yuan(s.unattributed_amount)},
        {"figure": _("认定产品数"), "value": s.certified_products},
        {"figure": _("认定产品销售额（元）"), "value": _yuan(s.certified_product_sales)},
        {"figure": _("举办集市（场）"), "value": s.fairs_held},
    ]
    return Table("summary", _("汇总"), columns, rows, note=certified_sales_note())


def channels_table(s: SummaryFigures, shipping_fen: int = 0) -> Table:
    """Each channel's orders and sales; online shipping fees in a column of their own
    (collected with online orders, never part of the sales)."""
    columns = [
        ReportColumn("channel", _("渠道")),
        ReportColumn("orders", _("订单数"), INT),
        ReportColumn("amount", _("销售额（元）"), FEN),
        ReportColumn("shipping", _("运费（元，另计）"), FEN),
    ]
    rows = [
        {
            "channel": channel_label(c),
            "orders": s.channels[c].orders,
            "amount": s.channels[c].amount,
            "shipping": shipping_fen if c == "online" else 0,
        }
        for c in CHANNELS
    ]
    note = _("运费为线上订单向买家收取的运费（扣除已退运费），不计入销售额和带贫归属。")
    return Table(
        "channels",
        _("各渠道销售"),
        columns,
        rows,
        _total_row(rows, columns, "channel"),
        note=note,
    )


def monthly_table(months: list[MonthRow], shipping: dict[str, int] | None = None) -> Table:
    """Sales per month and channel; with ``shipping`` (month -> fen), the online shipping
    fees in a column of their own after the sales total (never in it)."""
    columns = [ReportColumn("month", _("月份"))]
    columns += [ReportColumn(c, channel_label(c) + _("（元）"), FEN) for c in CHANNELS]
    columns.append(ReportColumn("total", _("合计（元）"), FEN))
    rows = [{"month": m.month, **m.amounts, "total": m.total} for m in months]
    if shipping is not None:
        columns.append(ReportColumn("shipping", _("运费（元，另计）"), FEN))
        for row in rows:
            row["shipping"] = shipping.get(row["month"], 0)
    return Table("monthly", _("按月销售"), columns, rows, _total_row(rows, columns, "month"))


def geo_table(geo: GeoLevel, url_for_child=None) -> Table:
    """``url_for_child(row_id)`` links a row to the next level down, if there is one."""
    name_header = {"district": _("区"), "town": _("镇"), "village": _("村")}[geo.level]
    columns = [
        ReportColumn("name", name_header),
        ReportColumn("households", _("带动户数"), INT),
        ReportColumn("person_times", _("带动人次"), INT),
        ReportColumn("amount", _("销售额（元）"), FEN),
    ]
    rows = []
    for r in geo.rows:
        row = {
            "name": r.name,
            "households": r.households,
            "person_times": r.person_times,
            "amount": r.amount,
        }
        if url_for_child and geo.child_level:
            row["_url"] = url_for_child(r.id)
        rows.append(row)
    if geo.level == "district" and geo.unattributed:
        rows.append(
            {
                "name": _("未归属到户"),
                "households": 0,
                "person_times": 0,
                "amount": geo.unattributed,
            }
        )
    title = _("按地区")
    if geo.town is not None:
        title = f"{geo.town.district.name} {geo.town.name}"
    elif geo.district is not None:
        title = geo.district.name
    return Table(f"geo-{geo.level}", title, columns, rows, _total_row(rows, columns, "name"))


def dimension_title(name: str) -> str:
    return {
        "vendor": _("按供应商"),
        "product": _("按产品"),
        "fair": _("按集市"),
        "agency": _("按采购单位"),
        "counter": _("按扶贫专柜"),
    }[name]


def dimension_table(name: str, rows: list[DimRow], page: Page | None = None) -> Table:
    label_header = {
        "vendor": _("供应商"),
        "product": _("产品"),
        "fair": _("集市"),
        "agency": _("采购单位"),
        "counter": _("专柜门店"),
    }[name]
    detail_header = {"vendor": _("编码"), "product": "SKU", "fair": _("日期")}.get(name)
    columns = [ReportColumn("label", label_header)]
    if detail_header:
        columns.append(ReportColumn("detail", detail_header))
    columns += [
        ReportColumn("amount", _("销售额（元）"), FEN),
        ReportColumn("attributed", _("归属到户（元）"), FEN),
        ReportColumn("households", _("带动户数"), INT),
        ReportColumn("person_times", _("带动人次"), INT),
    ]
    data = [
        {
            "label": r.label or _("（未填写）"),
            "detail": r.detail,
            "amount": r.amount,
            "attributed": r.attributed,
            "households": r.households,
            "person_times": r.person_times,
        }
        for r in rows
    ]
    return Table(
        name,
        dimension_title(name),
        columns,
        data,
        page=page,
        note=_("同一户可能由多个供应商或产品带动，户数与人次按行不可相加。"),
    )


def households_table(rows: list[DrivenHousehold], page: Page | None = None, url=None) -> Table:
    columns = [
        ReportColumn("code", _("户编码")),
        ReportColumn("head_name", _("户主")),
        ReportColumn("place", _("所在村")),
        ReportColumn("members", _("人口"), INT),
        ReportColumn("years", _("带动年数"), INT),
        ReportColumn("person_times", _("人次"), INT),
        ReportColumn("amount", _("归属金额（元）"), FEN),
    ]
    data = []
    for r in rows:
        row = {
            "code": r.code,
            "head_name": r.head_name,
            "place": r.place,
            "members": r.members,
            "years": r.years,
            "person_times": r.person_times,
            "amount": r.amount,
        }
        if url:
            row["_url"] = url(r.id)
        data.append(row)
    return Table("households", _("带动的建档立卡户"), columns, data, page=page)


def household_products_table(rows: list[ProductBenefit]) -> Table:
    columns = [
        ReportColumn("name", _("产品")),
        ReportColumn("sku", "SKU"),
        ReportColumn("amount", _("带来收益（元）"), FEN),
    ]
    data = [{"name": r.name, "sku": r.sku, "amount": r.amount} for r in rows]
    return Table(
        "household-products",
        _("各产品带来的收益"),
        columns,
        data,
        _total_row(data, columns, "name"),
    )


def household_months_table(rows: list[MonthBenefit], page: Page | None = None) -> Table:
    columns = [
        ReportColumn("month", _("月份")),
        ReportColumn("name", _("产品")),
        ReportColumn("amount", _("金额（元）"), FEN),
    ]
    data = [{"month": r.month, "name": r.name, "amount": r.amount} for r in rows]
    return Table("household-months", _("按月明细"), columns, data, page=page)


# -- files --------------------------------------------------------------------------


def _plain(column: ReportColumn, value):
    """A cell as the files carry it: money as a 2-decimal number, every other value as it
    is (the kernel's writer keeps numbers numbers and defuses text)."""
    if column.kind == FEN and value != "":
        return _yuan(value)
    return value


def _file_rows(table: Table):
    for row in table.all_rows():
        yield [_plain(c, row.get(c.key)) for c in table.columns]


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Chinese text correctly."""
    return tabular.to_csv([c.header for c in table.columns], _file_rows(table))


def to_xlsx(table: Table, heading: str | None = None) -> bytes:
    """One sheet under a heading (report and period); money as numbers in the yuan
    format, so sums work in Excel; columns as wide as their Chinese text."""
    return tabular.to_xlsx(
        table.title or "report",
        [c.header for c in table.columns],
        _file_rows(table),
        heading=heading,
    )
