"""Imports people can prepare (issue 14, item 8): a template per import (XLSX: header,
an example row, and a sheet of allowed values); XLSX accepted besides CSV; status and
risk-light columns take the Chinese words the pages show; a village not yet known is
reported as created."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Household, OrgKind, Role

from ..factories import member_of

HEADER = "household_code,head_name,members,district,town,village,status,risk_light\n"


@pytest.fixture
def bureau(auth):
    user = member_of(OrgKind.BUREAU, Role.STAFF)
    auth.login(user.email)
    return user


def upload(client, kind: str, data: bytes, name: str, dry_run: bool = False):
    form = {"kind": kind, "file": (io.BytesIO(data), name), "encoding": ""}
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/bureau/imports", data=form, content_type="multipart/form-data")


def household(code: str) -> Household:
    db.session.expire_all()
    return db.session.scalar(select(Household).where(Household.code == code))


def test_every_import_has_a_template_with_its_columns_and_allowed_values(app, client, bureau):
    page = client.get("/bureau/imports").text
    for name, importer in app.extensions["importers"].items():
        assert f'data-testid="template-{name}"' in page
        response = client.get(f"/bureau/imports/template/{name}.xlsx")
        assert response.status_code == 200
        assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
        book = load_workbook(io.BytesIO(response.data))
        data, notes = book.worksheets
        header, example = list(data.iter_rows(values_only=True))[:2]
        assert list(header) == [c.name for c in importer.columns]
        assert all(isinstance(v, str) for v in example if v is not None)
        assert any(example), f"{name} has no example row"
        assert notes.title == "说明"
    notes = load_workbook(io.BytesIO(client.get("/bureau/imports/template/households.xlsx").data))[
        "说明"
    ]
    status = next(row for row in notes.iter_rows(values_only=True) if row[0] == "status")
    assert "poor" in status[2] and "已脱贫（alleviated）" in status[2]
    assert client.get("/bureau/imports/template/nothing.xlsx").status_code == 404


def test_the_households_template_imports_as_it_is_and_reports_the_new_village(client, bureau):
    template = client.get("/bureau/imports/template/households.xlsx").data
    response = upload(client, "households", template, "模板.xlsx")
    assert "households: 1 created, 0 updated" in response.text
    assert "villages created: 龙华区/新坡镇/仁南村" in response.text
    made = household("460106001001")
    assert (made.status, made.risk_light, made.members) == ("alleviated", "green", 4)


def test_chinese_labels_read_as_codes_and_a_wrong_word_is_named(client, bureau):
    body = HEADER + (
        "HH-1,甲,3,龙华区,新坡镇,仁南村,未脱贫,红\n"
        "HH-2,乙,2,龙华区,新坡镇,仁南村,监测户,黄灯\n"
        "HH-3,丙,2,龙华区,新坡镇,仁南村,脱贫监测户,绿灯\n"
    )
    assert "households: 3 created" in upload(client, "households", body.encode(), "a.csv").text
    assert (household("HH-1").status, household("HH-1").risk_light) == ("poor", "red")
    assert (household("HH-2").status, household("HH-2").risk_light) == ("monitored", "yellow")
    assert household("HH-3").status == "monitored"

    bad = upload(
        client,
        "households",
        (HEADER + "HH-4,丁,2,龙华区,新坡镇,仁南村,贫困,绿\n").encode(),
        "b.csv",
    )
    assert "row 2: status: 必须是以下之一" in bad.text and "未脱贫" in bad.text
    assert household("HH-4") is None


def test_an_xlsx_file_with_number_and_date_cells_imports_like_csv(client, bureau):
    book = Workbook()
    sheet = book.active
    sheet.append([*HEADER.strip().split(","), "registered_year"])
    sheet.append(["HH-X", "王*华", 5, "秀英区", "石山镇", "施茶村", "已脱贫", None, 2016.0])
    sheet.append([])  # a blank row is skipped
    sheet.append(
        ["HH-Y", "李四", 0, "秀英区", "石山镇", "施茶村", "已脱贫", "绿", date(2016, 1, 1)]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    failed = upload(client, "households", buffer.getvalue(), "x.xlsx")
    assert "row 4: members: 必须大于等于 1" in failed.text  # the sheet's row number
    assert "row 4: registered_year: 必须是整数" in failed.text
    assert household("HH-X") is None  # all or nothing

    sheet.delete_rows(4)
    buffer = io.BytesIO()
    book.save(buffer)
    assert "households: 1 created" in upload(client, "households", buffer.getvalue(), "x.xlsx").text
    made = household("HH-X")
    assert (made.members, made.registered_year, made.risk_light) == (5, 2016, "green")
