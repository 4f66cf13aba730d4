"""A statement as a table for CSV and XLSX: its orders and refunds, then the totals."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from marketplace import tabular
from orders.settlement.models import Statement
from orders.settlement.services import statement_details


def kind_label(kind: str) -> str:
    return {
        "sale": _("销售"),
        "shipping": _("运费"),
        "refund": _("退款"),
        "adjustment": _("往期退款调整"),
        "shipping_refund": _("运费退款"),
        "shipping_adjustment": _("往期运费退款调整"),
    }.get(kind, kind)


# the detail kinds that add to the statement (the others are money given back)
CREDITS = ("sale", "shipping")


def _yuan(fen: int) -> tabular.Yuan:
    return tabular.yuan(fen)


def period_label(statement: Statement) -> str:
    return tabular.period_label(statement.period_start, statement.period_end)


def statement_rows(statement: Statement) -> tuple[list, list[list]]:
    header = [_("项目"), _("日期"), _("订单号"), _("金额（元）")]
    rows: list[list] = []
    for row in statement_details(statement):
        sign = 1 if row.kind in CREDITS else -1
        rows.append(
            [kind_label(row.kind), row.day.isoformat(), row.order_number, _yuan(sign * row.amount)]
        )
    rate = "%.2f" % (Decimal(statement.fee_rate_bp) / 100)
    rows += [
        [_("销售额"), "", "", _yuan(statement.sales)],
        [_("运费"), "", "", _yuan(statement.shipping)],
        [_("退款"), "", "", _yuan(-statement.refunds)],
        [_("往期退款调整"), "", "", _yuan(-statement.adjustments)],
        [_("其中运费退款"), "", "", _yuan(-statement.shipping_refunded)],
        [_("平台服务费（%(rate)s%%）", rate=rate), "", "", _yuan(-statement.fee)],
        [_("应付净额"), "", "", _yuan(statement.net)],
    ]
    return header, rows


def statement_file(statement: Statement, fmt: str):
    header, rows = statement_rows(statement)
    report = _("结算单")
    name = tabular.file_name(
        f"{report}_{statement.vendor.name}", fmt, statement.period_start, statement.period_end
    )
    if fmt == "xlsx":
        heading = (
            f"{statement.vendor.name} {report} {statement.number}（{period_label(statement)}）"
        )
        body = tabular.to_xlsx(report, header, rows, heading=heading)
        return tabular.attachment(body, tabular.XLSX_MIMETYPE, name)
    return tabular.attachment(tabular.to_csv(header, rows), tabular.CSV_MIMETYPE, name)
