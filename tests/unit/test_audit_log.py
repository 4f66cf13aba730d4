"""The audit log reads in words (issue 14, item 9): actions and objects named, changes
as "field: old -> new" with moments in the display time zone, filters by object, user
and date, and an export."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from marketplace import audit
from marketplace.bureau.audit_display import change_lines
from marketplace.extensions import db

from .test_fulfilment import bureau_staff


def test_changes_read_field_old_new_with_moments_in_the_display_zone(app):
    lines = change_lines(
        {
            "status": {"old": "pending", "new": "approved"},
            "paid_at": {"old": None, "new": "2026-01-01T16:30:00"},
            "lines": [[1, 2]],
        }
    )
    assert lines == ["状态: pending -> approved", "paid_at: — -> 2026-01-02 00:30", "lines: 1, 2"]


def test_the_bureau_reads_filters_and_exports_the_log(client, auth, frozen_clock):
    staff = bureau_staff()
    frozen_clock(datetime(2026, 3, 1, 2, tzinfo=UTC))
    audit.record(
        staff,
        "org.verify",
        object_type="organizations",
        object_id=7,
        changes={"status": {"old": "pending", "new": "verified"}},
    )
    db.session.commit()
    frozen_clock(datetime(2026, 3, 5, 2, tzinfo=UTC))
    audit.record("cli", "import.households", object_type="import", changes={"created": 3})
    audit.record(
        staff,
        "certification.approve",
        object_type="certifications",
        object_id=9,
        changes={"certificate_no": "FP-1"},
    )
    db.session.commit()
    auth.login(staff.email)

    page = client.get("/bureau/audit").text
    assert "审核通过组织" in page and "组织 7" in page and "状态: pending -&gt; verified" in page
    assert "数据导入：households" in page and "认定通过" in page and "证书编号: FP-1" in page

    only_org = client.get("/bureau/audit?object_type=organizations&object_id=7").text
    assert 'title="org.verify"' in only_org and 'title="certification.approve"' not in only_org
    march_5 = client.get("/bureau/audit?from=2026-03-05&to=2026-03-05").text
    assert 'title="certification.approve"' in march_5 and 'title="org.verify"' not in march_5
    by_user = client.get("/bureau/audit?actor=cli").text
    assert 'title="import.households"' in by_user
    assert 'title="certification.approve"' not in by_user

    xlsx = client.get("/bureau/audit/export.xlsx?from=2026-03-01&to=2026-03-01")
    assert "filename*=UTF-8''" in xlsx.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "操作日志（2026年3月1日）" and "操作" in rows[1]
    assert any("审核通过组织" in row and "状态: pending -> verified" in row for row in rows)
    assert not any("认定通过" in row for row in rows)
