from marketplace.models import OrgKind

from ..factories import HouseholdFactory, member_of


def test_home_page_is_chinese_by_default(client):
    page = client.get("/").get_data(as_text=True)
    assert "消费帮扶商城" in page
    assert 'lang="zh-CN"' in page


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_bureau_sees_households_citizen_gets_403(client, auth):
    household = HouseholdFactory(head_name="符亚华")
    bureau = member_of(OrgKind.BUREAU)
    citizen = member_of(OrgKind.COOPERATIVE)
    auth.login(citizen.email)
    assert client.get("/bureau/households").status_code == 403
    auth.logout()
    auth.login(bureau.email)
    page = client.get("/bureau/households").get_data(as_text=True)
    assert household.code in page and "符亚华" in page
