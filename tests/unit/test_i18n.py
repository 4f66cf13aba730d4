"""Internationalization: the catalogs cover every string in the source, the English one is
complete, and the language choice is remembered (cookie, then the account).

When a catalog test fails after a code change, run `make translations-update`, write the
English for the entries it lists, and commit both .po files (docs/i18n.md).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from marketplace.extensions import babel, db
from marketplace.i18n import LOCALE_COOKIE
from marketplace.models import User

from ..factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
LOCALES = ("zh_CN", "en")
# The same keywords as the Makefile's `translations-update` target.
EXTRA_KEYWORDS = ["_l", "lazy_gettext", "lazy_ngettext:1,2"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifrx]")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff60]")


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def read_catalog(locale: str) -> Catalog:
    with po_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


def entries(catalog: Catalog):
    return [m for m in catalog if m.id]


def first(value):
    return value[0] if isinstance(value, (list, tuple)) else value


def source_keys() -> set[tuple[str, str | None]]:
    """(msgid, context) of every string the source marks for translation, extracted
    with babel.cfg exactly as `make translations-update` does."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(EXTRA_KEYWORDS)}
    return {
        (first(message), context)
        for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords
        )
    }


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    return {locale: read_catalog(locale) for locale in LOCALES}


@pytest.fixture(scope="session")
def compiled_catalogs(app):
    """`make test` compiles the catalogs first; when the .mo files are missing or older
    than the .po files (a bare `pytest` run), compile them here."""
    for locale in LOCALES:
        po = po_path(locale)
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        partial = mo.with_suffix(".mo.tmp")
        with partial.open("wb") as f:
            write_mo(f, read_catalog(locale), use_fuzzy=True)
        partial.replace(mo)
        with app.app_context():  # drop translations loaded before they were compiled
            babel.domain_instance.cache.clear()


# ---- the catalogs ----


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_has_every_msgid_in_the_source(catalogs, locale):
    catalog = catalogs[locale]
    have = {(first(m.id), m.context) for m in entries(catalog)}
    missing = sorted(msgid for msgid, _context in source_keys() - have)
    assert not missing, (
        f"{po_path(locale).relative_to(ROOT)} lacks {len(missing)} msgid(s) from the source; "
        f"run `make translations-update` and translate them: {missing}"
    )


def test_english_catalog_is_translated(catalogs):
    problems = []
    for m in entries(catalogs["en"]):
        strings = m.string if isinstance(m.string, (list, tuple)) else [m.string]
        if m.fuzzy:
            problems.append(f"fuzzy: {first(m.id)}")
        elif not all(strings):
            problems.append(f"untranslated: {first(m.id)}")
        elif any(CJK.search(s) for s in strings):
            problems.append(f"still Chinese: {first(m.id)} -> {strings}")
    assert not problems, "\n".join(problems)


def test_chinese_catalog_is_the_identity(catalogs):
    """msgids are the Simplified Chinese text; scripts/fill_zh_catalog.py fills msgstr."""
    problems = []
    for m in entries(catalogs["zh_CN"]):
        expected = first(m.id)
        strings = m.string if isinstance(m.string, (list, tuple)) else [m.string]
        if m.fuzzy or not all(strings) or first(strings) != expected:
            problems.append(first(m.id))
    assert not problems, (
        f"run `python scripts/fill_zh_catalog.py`; entries not equal to their msgid: {problems}"
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(catalogs, locale):
    """Jinja's gettext always applies `%` formatting, so every %(name)s must be kept,
    flagged python-format or not."""
    problems = []
    for m in entries(catalogs[locale]):
        ids = m.id if isinstance(m.id, (list, tuple)) else [m.id]
        strings = m.string if isinstance(m.string, (list, tuple)) else [m.string]
        wanted = {name for msgid in ids for name in PLACEHOLDER.findall(msgid)}
        for s in filter(None, strings):
            if set(PLACEHOLDER.findall(s)) != wanted:
                problems.append(f"{first(m.id)!r} -> {s!r}")
    problems += [f"{m.id!r}: {errors}" for m, errors in catalogs[locale].check()]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_compiles(catalogs, locale):
    out = io.BytesIO()
    write_mo(out, catalogs[locale])
    assert out.getvalue()


# ---- choosing the language ----


def fetch(app, client, url: str):
    """One request in an app context of its own, as in production: conftest keeps a single
    app context for the whole test, and Flask-Babel caches the locale (Flask-Login the
    user) in its ``g``, which would otherwise carry over to the next request."""
    with app.app_context():
        return client.get(url)


def switch(app, client, code: str, next_: str | None = None):
    """The language menu: a POST of one of its small forms."""
    with app.app_context():
        return client.post(f"/lang/{code}", data={"next": next_} if next_ else {})


def page(app, client, url: str = "/") -> str:
    response = fetch(app, client, url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def assert_chinese(html: str, home: bool = True) -> None:
    assert 'lang="zh-CN"' in html
    assert "消费帮扶商城" in html  # the layout
    assert "Poverty Relief Marketplace" not in html
    if home:  # and the page's own text
        assert "以购代捐，以买代帮" in html


def assert_english(html: str, home: bool = True) -> None:
    assert 'lang="en"' in html
    assert "Poverty Relief Marketplace" in html
    assert "消费帮扶商城" not in html
    if home:
        assert "Buy to help" in html and "以购代捐" not in html


def saved_locale(user_id: int) -> str | None:
    db.session.expire_all()
    return db.session.get(User, user_id).locale


def test_home_page_is_chinese_by_default(app, client, compiled_catalogs):
    assert_chinese(page(app, client))


def test_switching_to_english_is_remembered_in_a_cookie(app, client, compiled_catalogs):
    response = switch(app, client, "en", "/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    assert client.get_cookie(LOCALE_COOKIE).value == "en"
    assert_english(page(app, client))
    assert_english(page(app, client, "/login"), home=False)

    switch(app, client, "zh_CN")
    assert_chinese(page(app, client))


def test_unknown_language_is_ignored(app, client, compiled_catalogs):
    response = switch(app, client, "xx")
    assert response.status_code == 302
    assert client.get_cookie(LOCALE_COOKIE) is None
    assert_chinese(page(app, client))


def test_a_get_of_the_switch_changes_nothing(app, client, auth, compiled_catalogs):
    """Only the menu's POST switches: a GET (a prefetched link, a crawler, an <img> on
    another site) neither sets the cookie nor touches the account."""
    user = UserFactory()
    with app.app_context():
        auth.login(user.email)
    response = fetch(app, client, "/lang/en?next=/")
    assert response.status_code == 405
    assert client.get_cookie(LOCALE_COOKIE) is None
    assert saved_locale(user.id) is None
    assert_chinese(page(app, client))


def test_the_menu_is_a_form_per_language_that_posts_back_here(app, client, compiled_catalogs):
    html = page(app, client, "/login?next=/cart")
    forms = re.findall(r'<form method="post" action="(/lang/[^"]+)">(.*?)</form>', html, re.S)
    assert [action for action, _body in forms] == ["/lang/zh_CN", "/lang/en"]
    for _action, body in forms:
        # a visitor's forms carry no token (the switch checks the origin instead)
        assert 'name="csrf_token"' not in body
        assert 'name="next" value="/login?next=/cart"' in body
    switch(app, client, "en", "/login?next=/cart")
    assert_english(page(app, client, "/login"), home=False)


def test_switch_redirects_only_within_the_site(app, client, compiled_catalogs):
    response = switch(app, client, "en", "https://evil.example/")
    assert "evil.example" not in response.headers["Location"]


def test_flash_messages_follow_the_language(app, client, auth, compiled_catalogs):
    switch(app, client, "en")
    with app.app_context():
        response = auth.login("nobody@example.cn", "wrong password 1", follow=True)
    assert "Incorrect account or password" in response.get_data(as_text=True)


def test_signed_in_choice_is_saved_on_the_account_and_beats_the_cookie(
    app, client, auth, compiled_catalogs
):
    user = UserFactory()
    with app.app_context():
        assert auth.login(user.email).status_code == 302
    assert saved_locale(user.id) is None
    assert_chinese(page(app, client))

    switch(app, client, "en")
    assert saved_locale(user.id) == "en"
    assert_english(page(app, client))

    # another device's cookie says Chinese: the account's choice wins while signed in
    client.set_cookie(LOCALE_COOKIE, "zh_CN")
    assert_english(page(app, client))

    # signed out, the cookie decides again
    with app.app_context():
        auth.logout()
    assert_chinese(page(app, client))


def test_saved_language_applies_on_a_new_device(app, auth, client, compiled_catalogs):
    user = UserFactory(locale="en")
    assert_chinese(page(app, client))
    with app.app_context():
        auth.login(user.email)
    assert client.get_cookie(LOCALE_COOKIE) is None
    assert_english(page(app, client))


def test_profile_form_saves_the_language(app, client, auth, compiled_catalogs):
    user = UserFactory()
    with app.app_context():
        auth.login(user.email)
        response = client.post("/account", data={"name": user.name, "phone": "", "locale": "en"})
    assert response.status_code == 302
    assert saved_locale(user.id) == "en"
    assert_english(page(app, client, "/account"), home=False)
