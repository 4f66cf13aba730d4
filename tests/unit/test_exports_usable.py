"""Exports people can use (issue 14, item 7), done once in marketplace/tabular.py: money
is a number in the yuan format, columns are as wide as their Chinese text, the XLSX opens
with a heading row naming the report and its period, and the file is named for them."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from marketplace import tabular

from .test_reports_pages import bureau, ledger  # noqa: F401  (fixtures)


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        (None, None, "全部"),
        (date(2026, 1, 1), date(2026, 12, 31), "2026年"),
        (date(2026, 3, 1), date(2026, 3, 31), "2026年3月"),
        (date(2026, 1, 1), date(2026, 3, 31), "2026年1月-3月"),
        (date(2026, 3, 5), date(2026, 4, 2), "2026年3月5日至2026年4月2日"),
        (date(2026, 3, 5), date(2026, 3, 5), "2026年3月5日"),
        (date(2026, 3, 5), None, "2026年3月5日起"),
        (date(1, 1, 1), date(9999, 12, 31), "1年1月1日至9999年12月31日"),  # the widest
    ],
)
def test_periods_read_as_people_write_them(app, start, end, label):
    with app.test_request_context():
        assert tabular.period_label(start, end) == label
        assert tabular.file_name("销售/汇总", "xlsx", start, end) == f"销售_汇总_{label}.xlsx"


def test_money_is_a_number_in_the_yuan_format_and_columns_fit_chinese_text(app):
    with app.test_request_context():
        data = tabular.to_xlsx(
            "t",
            ["产品名称", "金额"],
            [["海南妃子笑荔枝礼盒装五斤", tabular.yuan(123456)], ["x", tabular.yuan(-5)]],
            heading="销售明细（2026年3月）",
        )
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["A1"].value == "销售明细（2026年3月）" and sheet["A2"].value == "产品名称"
    money = sheet["B3"]
    assert money.data_type == "n" and Decimal(str(money.value)) == Decimal("1234.56")
    assert money.number_format == tabular.YUAN_FORMAT
    assert Decimal(str(sheet["B4"].value)) == Decimal("-0.05")
    assert sheet.column_dimensions["A"].width >= 2 * len("海南妃子笑荔枝礼盒装五斤")
    assert (
        tabular.to_csv(["金额"], [[tabular.yuan(123456)]]).decode("utf-8-sig")
        == "金额\r\n1234.56\r\n"
    )


def test_a_report_export_has_numbers_a_heading_and_a_named_period(client, bureau, ledger):  # noqa: F811
    response = client.get("/bureau/reports/export/summary.xlsx?from=2024-01-01&to=2024-12-31")
    disposition = unquote(response.headers["Content-Disposition"])
    assert "汇总_2024年.xlsx" in disposition
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet["A1"].value == "汇总（2024年）"
    amounts = [row for row in sheet.iter_rows(min_row=3) if "（元）" in str(row[0].value)]
    assert amounts and all(row[1].data_type == "n" for row in amounts)
    assert all(row[1].number_format == tabular.YUAN_FORMAT for row in amounts)

    csv = client.get("/bureau/reports/export/vendor.csv?from=2024-01-01&to=2024-03-31")
    assert "2024年1月-3月" in unquote(csv.headers["Content-Disposition"])
