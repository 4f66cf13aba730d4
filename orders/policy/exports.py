"""The reward lists and a vendor's statement as CSV or XLSX (through marketplace.tabular):
the rows, the differences carried, then the totals."""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace import tabular
from orders.policy.lists import year_bounds
from orders.policy.rewards import HouseholdList
from orders.policy.vendor_rewards import VendorList, VendorStatement


def source_label(source: str) -> str:
    return {"assessed": _("评定"), "estimate": _("估算")}.get(source, source)


def _file(title: str, year: int, header: list, rows: list[list], fmt: str, heading: str):
    name = tabular.file_name(title, fmt, *year_bounds(year))
    if fmt == "xlsx":
        body = tabular.to_xlsx(title, header, rows, heading=heading)
        return tabular.attachment(body, tabular.XLSX_MIMETYPE, name)
    return tabular.attachment(tabular.to_csv(header, rows), tabular.CSV_MIMETYPE, name)


def status_text(approved) -> str:
    return _("已批准（冻结）") if approved else _("待批准")


def households_file(result: HouseholdList, fmt: str):
    y = tabular.yuan
    header = [
        _("项目"),
        _("年度"),
        _("户编码"),
        _("户主"),
        _("带动销售额（元）"),
        _("农业纯收入（元）"),
        _("收入来源"),
        _("达到档次（元）"),
        _("奖补金额（元）"),
    ]

    def line(row, kind: str) -> list:
        return [
            kind,
            row.year,
            row.household.code,
            row.household.head_name,
            y(row.attributed),
            y(row.income),
            source_label(row.income_source),
            y(row.threshold),
            y(row.reward),
        ]

    rows = [line(r, _("奖补")) for r in result.rows]
    rows += [line(r, _("往年差额")) for r in result.differences]
    rows += [
        [_("合计"), "", _("%(n)d 户次", n=result.count), "", "", "", "", "", y(result.total)],
        [_("往年差额合计"), "", "", "", "", "", "", "", y(result.differences_total)],
        [_("应发合计"), "", "", "", "", "", "", "", y(result.payable)],
    ]
    title = _("农户产业奖补名单")
    heading = _(
        "%(y)d 年度农户产业奖补名单（%(s)s）：%(n)d 户次，%(m)s 元",
        y=result.year,
        s=status_text(result.approved),
        n=result.count,
        m=tabular.yuan(result.total),
    )
    return _file(title, result.year, header, rows, fmt, heading)


VENDOR_HEADER_KEYS = ("online", "fair", "procurement", "counter")


def _vendor_header() -> list:
    return [
        _("项目"),
        _("年度"),
        _("主体编码"),
        _("销售主体"),
        _("带动户数"),
        _("带动金额（元）"),
        _("线上（元）"),
        _("集市（元）"),
        _("采购（元）"),
        _("专柜（元）"),
        _("认定产品销售额（元）"),
        _("带动奖励（元）"),
        _("运输补贴（元）"),
        _("合计（元）"),
    ]


def _vendor_line(row, kind: str) -> list:
    y = tabular.yuan
    return [
        kind,
        row.year,
        row.vendor.code or "",
        row.vendor.name,
        row.households_driven,
        y(row.attributed),
        *(y(row.channel(c)) for c in VENDOR_HEADER_KEYS),
        y(row.certified_sales),
        y(row.reward),
        y(row.transport_subsidy),
        y(row.amount),
    ]


def vendors_file(result: VendorList, fmt: str):
    y = tabular.yuan
    blank = [""] * 9  # up to the last column, the amount
    rows = [_vendor_line(r, _("奖补")) for r in result.rows]
    rows += [_vendor_line(r, _("往年差额")) for r in result.differences]
    rows += [
        [_("合计"), "", "", _("%(n)d 家", n=result.count), *blank, y(result.total)],
        [_("往年差额合计"), "", "", "", *blank, y(result.differences_total)],
        [_("应发合计"), "", "", "", *blank, y(result.payable)],
    ]
    title = _("经营主体奖补名单")
    heading = _(
        "%(y)d 年度经营主体带动奖励与运输补贴（%(s)s）：%(n)d 家，%(m)s 元",
        y=result.year,
        s=status_text(result.approved),
        n=result.count,
        m=tabular.yuan(result.total),
    )
    return _file(title, result.year, _vendor_header(), rows, fmt, heading)


def statement_file(statement: VendorStatement, fmt: str):
    y = tabular.yuan
    rows = []
    if statement.row is not None:
        rows.append(_vendor_line(statement.row, _("奖补")))
    rows += [_vendor_line(r, _("往年差额")) for r in statement.differences]
    rows.append([_("应发合计"), "", "", "", *[""] * 9, y(statement.payable)])
    title = _("奖补结算单")
    heading = _(
        "%(v)s %(y)d 年度带动奖励与运输补贴结算单（%(s)s）",
        v=statement.vendor.name,
        y=statement.year,
        s=status_text(statement.approved),
    )
    return _file(
        f"{title}_{statement.vendor.name}", statement.year, _vendor_header(), rows, fmt, heading
    )
