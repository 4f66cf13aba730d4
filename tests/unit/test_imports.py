"""CSV imports of households and vendors (docs/formats.md, "CSV imports: rules for every
file"), through the command line, ``run_import`` and the bureau's upload page."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from marketplace.bureau.imports import HouseholdsImport
from marketplace.extensions import db
from marketplace.importing import ImportFailed, run_import
from marketplace.models import AuditEntry, Household, Organization, OrgKind, OrgStatus
from marketplace.orgs.imports import VendorsImport

from ..factories import member_of

HEADER = "household_code,head_name,members,district,town,village,status,risk_light,registered_year"
GOOD = [
    "HK0001,符亚华,4,秀英区,长流镇,美德村,poor,red,2015",
    "HK0002,王春梅,3,琼山区,三门坡镇,文山村,alleviated,,2016",
    "HK0003,吴淑芬,1,美兰区,大致坡镇,昌文村,monitored,yellow,",
]


def csv_text(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def invoke(runner, kind: str, path, *flags: str):
    return runner.invoke(args=["import", kind, str(path), *flags])


def households() -> dict[str, Household]:
    db.session.expire_all()
    return {h.code: h for h in db.session.scalars(select(Household))}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---- encodings ----


def test_gb18030_file_is_detected_and_chinese_names_stored_exactly(runner, tmp_path):
    path = write(tmp_path, "gbk.csv", csv_text(*GOOD).encode("gb18030"))
    result = invoke(runner, "households", path)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "households: 3 created, 0 updated"
    stored = households()
    assert {code: h.head_name for code, h in stored.items()} == {
        "HK0001": "符亚华",
        "HK0002": "王春梅",
        "HK0003": "吴淑芬",
    }
    assert stored["HK0001"].village.full_name == "秀英区长流镇美德村"


def test_utf8_with_bom_reads_first_column_and_names(runner, tmp_path):
    path = write(tmp_path, "bom.csv", "\ufeff".encode() + csv_text(*GOOD).encode("utf-8"))
    # a BOM glued to "household_code" would make it an unknown column
    result = invoke(runner, "households", path)
    assert result.exit_code == 0, result.output
    assert households()["HK0002"].head_name == "王春梅"


def test_encoding_option_overrides_detection(runner, tmp_path):
    # Big5 bytes are not UTF-8, so detection would pick GB18030 and garble the name.
    data = csv_text("HK0009,陳志明,2,秀英區,長流鎮,美德村,edge").encode("big5")
    path = write(tmp_path, "big5.csv", data)
    result = invoke(runner, "households", path, "--encoding", "big5")
    assert result.exit_code == 0, result.output
    assert households()["HK0009"].head_name == "陳志明"


def test_forced_wrong_encoding_is_reported_not_guessed(runner, tmp_path):
    path = write(tmp_path, "gbk.csv", csv_text(*GOOD).encode("gb18030"))
    result = invoke(runner, "households", path, "--encoding", "utf-8")
    assert result.exit_code == 1
    assert "utf-8" in result.output
    assert count(Household) == 0


def test_without_override_big5_file_is_not_read_as_big5(app, tmp_path):
    data = csv_text("HK0009,陳志明,2,秀英區,長流鎮,美德村,edge").encode("big5")
    run_import(HouseholdsImport(), data)
    assert households()["HK0009"].head_name != "陳志明"


# ---- all-or-nothing with every error reported ----


def test_several_bad_rows_write_nothing_and_each_is_reported(runner, tmp_path):
    data = csv_text(
        GOOD[0],
        "HK0002,王春梅,0,琼山区,三门坡镇,文山村,alleviated,,",  # row 3: members < 1
        "HK0003,,2,美兰区,大致坡镇,昌文村,poor,,",  # row 4: head_name empty
        "HK0004,李四,2,美兰区,大致坡镇,昌文村,rich,,",  # row 5: status
        "HK0005,张三,2,美兰区,大致坡镇,昌文村,poor,blue,abc",  # row 6: two errors
    )
    result = invoke(runner, "households", write(tmp_path, "bad.csv", data))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        "row 3: members: 必须大于等于 1",
        "row 4: head_name: 必填",
        "row 5: status: 必须是以下之一：poor, alleviated, edge, monitored, general, "
        "未脱贫, 已脱贫, 边缘户, 脱贫监测户, 监测户, 一般户",
        "row 6: registered_year: 必须是整数",
        "row 6: risk_light: 必须是以下之一：red, yellow, green, 红灯, 红, 黄灯, 黄, 绿灯, 绿",
        "households: 5 errors, nothing written",
    ]
    assert count(Household) == 0
    assert count(AuditEntry) == 0


def test_row_numbers_are_file_lines_even_after_blank_and_multiline_records(app):
    data = csv_text(
        GOOD[0],
        "",  # line 3: blank, skipped
        'HK0002,"王\n春梅",3,琼山区,三门坡镇,文山村,alleviated,,',  # lines 4-5
        "HK0003,吴淑芬,x,美兰区,大致坡镇,昌文村,poor,,",  # line 6
    ).encode()
    with pytest.raises(ImportFailed) as failed:
        run_import(HouseholdsImport(), data)
    assert [str(e) for e in failed.value.errors] == ["row 6: members: 必须是整数"]
    assert count(Household) == 0


def test_database_check_errors_also_write_nothing(app):
    # credit code 2 is valid alone but repeats row 2's: found by ``check``, after parsing
    data = (
        "vendor_code,name,kind,district,town,credit_code\n"
        "V1,长流合作社,cooperative,秀英区,长流镇,91350100M000100Y43\n"
        "V2,美德企业,enterprise,秀英区,长流镇,91350100M000100Y43\n"
    ).encode()
    with pytest.raises(ImportFailed) as failed:
        run_import(VendorsImport(), data)
    assert [str(e) for e in failed.value.errors] == ["row 3: credit_code: 与第 2 行重复"]
    assert count(Organization) == 0


# ---- header rules ----


def test_unknown_column_is_an_error(runner, tmp_path):
    data = csv_text(GOOD[0] + ",x", header=HEADER + ",nickname")
    result = invoke(runner, "households", write(tmp_path, "extra.csv", data))
    assert result.exit_code == 1
    assert "row 1: nickname: 未知的列" in result.output.splitlines()
    assert count(Household) == 0


def test_missing_required_column_is_an_error(runner, tmp_path):
    header = "household_code,head_name,members,district,town,status"
    data = csv_text("HK0001,符亚华,4,秀英区,长流镇,poor", header=header)
    result = invoke(runner, "households", write(tmp_path, "missing.csv", data))
    assert result.exit_code == 1
    assert "row 1: village: 缺少必填列" in result.output.splitlines()
    assert count(Household) == 0


def test_column_order_is_free(runner, tmp_path):
    header = "village,town,district,status,members,head_name,household_code"
    data = csv_text("美德村,长流镇,秀英区,edge,5,符亚华,HK0001", header=header)
    result = invoke(runner, "households", write(tmp_path, "order.csv", data))
    assert result.exit_code == 0, result.output
    household = households()["HK0001"]
    assert (household.head_name, household.members, household.status) == ("符亚华", 5, "edge")
    assert household.risk_light == "green"  # the documented default


def test_duplicate_key_within_file_is_an_error(runner, tmp_path):
    data = csv_text(GOOD[0], GOOD[1], GOOD[0].replace("符亚华", "符二"))
    result = invoke(runner, "households", write(tmp_path, "dup.csv", data))
    assert result.exit_code == 1
    assert "row 4: household_code: 与第 2 行重复" in result.output.splitlines()
    assert count(Household) == 0


# ---- re-import and dry run ----


def test_reimport_updates_existing_households(runner, tmp_path):
    first = invoke(runner, "households", write(tmp_path, "a.csv", csv_text(*GOOD)))
    assert first.exit_code == 0, first.output
    changed = [
        "HK0001,符亚华,6,秀英区,长流镇,美德村,alleviated,green,2015",
        "HK0002,王春兰,2,琼山区,三门坡镇,文山村,alleviated,,2016",
        GOOD[2],
    ]
    result = invoke(runner, "households", write(tmp_path, "b.csv", csv_text(*changed)))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "households: 0 created, 3 updated"
    stored = households()
    assert len(stored) == 3
    assert (stored["HK0001"].members, stored["HK0001"].status) == (6, "alleviated")
    assert stored["HK0002"].head_name == "王春兰"
    assert stored["HK0002"].members == 2


def test_reimport_mixes_created_and_updated(app):
    run_import(HouseholdsImport(), csv_text(GOOD[0]).encode())
    summary = run_import(HouseholdsImport(), csv_text(*GOOD).encode())
    assert summary.line() == "households: 2 created, 1 updated"
    assert count(Household) == 3


def test_dry_run_prints_summary_and_writes_nothing(runner, tmp_path):
    result = invoke(runner, "households", write(tmp_path, "a.csv", csv_text(*GOOD)), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == (
        "dry run, nothing written: households: 3 created, 0 updated"
    )
    assert count(Household) == 0
    assert count(AuditEntry) == 0


def test_dry_run_of_a_reimport_reports_updates_and_changes_nothing(runner, tmp_path):
    run_import(HouseholdsImport(), csv_text(*GOOD).encode())
    renamed = csv_text(GOOD[0].replace("符亚华", "符大华"))
    result = invoke(runner, "households", write(tmp_path, "b.csv", renamed), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "households: 0 created, 1 updated" in result.output
    assert households()["HK0001"].head_name == "符亚华"


def test_successful_import_is_audited(app):
    run_import(HouseholdsImport(), csv_text(*GOOD).encode())
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import.households"))
    assert entry is not None
    assert entry.actor_label == "cli"
    assert entry.changes == {"rows": 3, "created": 3, "updated": 0}


# ---- vendors ----

VENDOR_HEADER = "vendor_code,name,kind,district,town,village,credit_code,contact_phone"


def test_vendors_import_creates_verified_orgs_of_the_row_kind(runner, tmp_path):
    data = csv_text(
        "V001,长流镇美德村种养专业合作社,cooperative,秀英区,长流镇,美德村,91350100M000100Y43,13800138000",
        "V002,海口绿野农业有限公司,enterprise,琼山区,三门坡镇,,91110000802100433B,",
        "V003,符家庭农场,household,美兰区,大致坡镇,昌文村,,",
        header=VENDOR_HEADER,
    )
    result = invoke(runner, "vendors", write(tmp_path, "v.csv", data.encode("gb18030")))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "vendors: 3 created, 0 updated"
    db.session.expire_all()
    orgs = {o.code: o for o in db.session.scalars(select(Organization))}
    assert {code: (o.kind, o.status) for code, o in orgs.items()} == {
        "V001": (OrgKind.COOPERATIVE, OrgStatus.VERIFIED),
        "V002": (OrgKind.ENTERPRISE, OrgStatus.VERIFIED),
        "V003": (OrgKind.HOUSEHOLD, OrgStatus.VERIFIED),
    }
    assert orgs["V001"].name == "长流镇美德村种养专业合作社"
    assert orgs["V001"].credit_code == "91350100M000100Y43"
    assert orgs["V001"].village.name == "美德村"
    assert orgs["V002"].village is None and orgs["V002"].town.name == "三门坡镇"


def test_vendors_invalid_credit_code_is_an_error(runner, tmp_path):
    data = csv_text(
        "V001,甲合作社,cooperative,秀英区,长流镇,,91350100M000100Y44,",  # wrong check char
        "V002,乙合作社,cooperative,秀英区,长流镇,,9135010,",  # too short
        "V003,丙合作社,bureau,秀英区,长流镇,,,",  # not a seller kind
        header=VENDOR_HEADER,
    )
    result = invoke(runner, "vendors", write(tmp_path, "v.csv", data))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0] == "row 2: credit_code: 统一社会信用代码无效（18 位，校验位不符）"
    assert lines[1] == "row 3: credit_code: 统一社会信用代码无效（18 位，校验位不符）"
    assert lines[2].startswith("row 4: kind: ")
    assert count(Organization) == 0


def test_vendors_reimport_updates(runner, tmp_path):
    first = csv_text("V001,甲合作社,cooperative,秀英区,长流镇,,,", header=VENDOR_HEADER)
    assert invoke(runner, "vendors", write(tmp_path, "a.csv", first)).exit_code == 0
    second = csv_text(
        "V001,甲农业有限公司,enterprise,龙华区,新坡镇,,91440300708461136T,13912345678",
        header=VENDOR_HEADER,
    )
    result = invoke(runner, "vendors", write(tmp_path, "b.csv", second))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "vendors: 0 created, 1 updated"
    db.session.expire_all()
    org = db.session.scalar(select(Organization).where(Organization.code == "V001"))
    assert (org.name, org.kind, org.district.name) == ("甲农业有限公司", "enterprise", "龙华区")
    assert org.credit_code == "91440300708461136T"
    assert org.status == OrgStatus.VERIFIED
    assert count(Organization) == 1


# ---- the bureau's upload page ----


def upload(client, data: bytes, kind: str = "households", **fields):
    form = {"kind": kind, "file": (io.BytesIO(data), "upload.csv"), "encoding": "", **fields}
    return client.post("/bureau/imports", data=form, content_type="multipart/form-data")


def test_upload_page_shows_row_errors_and_writes_nothing(client, auth):
    auth.login(member_of(OrgKind.BUREAU).email)
    data = csv_text(
        GOOD[0],
        "HK0002,王春梅,0,琼山区,三门坡镇,文山村,alleviated,,",
        "HK0003,,2,美兰区,大致坡镇,昌文村,poor,,",
    )
    page = upload(client, data.encode("gb18030")).get_data(as_text=True)
    assert "row 3: members: 必须大于等于 1" in page
    assert "row 4: head_name: 必填" in page
    assert count(Household) == 0


def test_upload_page_imports_a_good_file(client, auth):
    auth.login(member_of(OrgKind.BUREAU, role="staff").email)
    response = upload(client, csv_text(*GOOD).encode("gb18030"))
    assert "households: 3 created, 0 updated" in response.get_data(as_text=True)
    assert households()["HK0001"].head_name == "符亚华"


def test_upload_page_dry_run_writes_nothing(client, auth):
    auth.login(member_of(OrgKind.BUREAU).email)
    response = upload(client, csv_text(*GOOD).encode(), dry_run="y")
    assert "dry run, nothing written: households: 3 created, 0 updated" in response.get_data(
        as_text=True
    )
    assert count(Household) == 0


def test_upload_page_encoding_choice_is_used(client, auth):
    auth.login(member_of(OrgKind.BUREAU).email)
    page = upload(client, csv_text(*GOOD).encode("gb18030"), encoding="utf-8").get_data(
        as_text=True
    )
    assert "utf-8" in page
    assert count(Household) == 0


def test_upload_page_imports_vendors_as_verified_by_the_bureau_user(client, auth):
    staff = member_of(OrgKind.BUREAU)
    auth.login(staff.email)
    data = csv_text("V001,甲合作社,cooperative,秀英区,长流镇,,,", header=VENDOR_HEADER)
    response = upload(client, data.encode(), kind="vendors")
    assert "vendors: 1 created, 0 updated" in response.get_data(as_text=True)
    org = db.session.scalar(select(Organization).where(Organization.code == "V001"))
    assert org.verified_by_id == staff.id


@pytest.mark.parametrize("kind", [OrgKind.COOPERATIVE, OrgKind.AGENCY])
def test_upload_page_is_403_for_non_bureau_users(client, auth, kind):
    auth.login(member_of(kind).email)
    assert client.get("/bureau/imports").status_code == 403
    assert upload(client, csv_text(*GOOD).encode()).status_code == 403
    assert count(Household) == 0


def test_blank_risk_light_on_reimport_keeps_the_bureaus_light(runner, tmp_path):
    header = "household_code,head_name,members,district,town,village,status,risk_light"
    first = csv_text("HK0001,符亚华,4,秀英区,长流镇,美德村,poor,", header=header)
    assert invoke(runner, "households", write(tmp_path, "a.csv", first)).exit_code == 0
    assert households()["HK0001"].risk_light == "green"  # new household: the default
    household = households()["HK0001"]
    household.risk_light = "red"  # the bureau raised the warning light
    db.session.commit()
    again = csv_text("HK0001,符亚华,5,秀英区,长流镇,美德村,poor,", header=header)
    assert invoke(runner, "households", write(tmp_path, "b.csv", again)).exit_code == 0
    db.session.expire_all()
    assert households()["HK0001"].risk_light == "red"
    assert households()["HK0001"].members == 5
