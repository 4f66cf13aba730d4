"""Copy msgid to msgstr in the zh_CN catalog, and list what English still needs.

The source's msgids are the Simplified Chinese text, so the zh_CN catalog is the identity:
after ``pybabel update`` (``make translations-update``) every new or fuzzy zh_CN entry
gets msgstr = msgid. Entries someone translated on purpose (msgstr differs from msgid)
are kept. The English catalog is only read: its untranslated and fuzzy entries are
listed so a translator knows what to write. See docs/i18n.md.

    python scripts/fill_zh_catalog.py            # fill zh_CN, report en
    python scripts/fill_zh_catalog.py --check    # also exit 1 when en is incomplete
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
PO = "LC_MESSAGES/messages.po"


def load(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def save(catalog: Catalog, path: Path) -> None:
    # Same layout as `pybabel update --no-wrap`, so a later update is a small diff.
    with path.open("wb") as f:
        write_po(f, catalog, width=0)


def fill_identity(catalog: Catalog) -> int:
    """Set msgstr = msgid on every untranslated or fuzzy entry; return how many."""
    filled = 0
    for message in catalog:
        if not message.id:  # the header
            continue
        if isinstance(message.id, (list, tuple)):
            forms = catalog.num_plurals
            complete = all(message.string) and len(message.string) == forms
            if complete and not message.fuzzy:
                continue
            message.string = tuple([message.id[-1]] * forms)
        else:
            if message.string and not message.fuzzy:
                continue
            message.string = message.id
        message.flags.discard("fuzzy")
        filled += 1
    return filled


def missing_translations(catalog: Catalog) -> list[str]:
    """msgids (first form) whose translation is empty or fuzzy."""
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy or not all(strings):
            missing.append(message.id[0] if isinstance(message.id, (list, tuple)) else message.id)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if en is incomplete")
    args = parser.parse_args(argv)

    zh_path = TRANSLATIONS / "zh_CN" / PO
    zh = load(zh_path)
    filled = fill_identity(zh)
    if filled:
        save(zh, zh_path)
    print(f"zh_CN: {filled} entries filled with msgid ({len(zh)} in catalog)")

    en_path = TRANSLATIONS / "en" / PO
    if not en_path.exists():
        print("en: no catalog (run `make translations-update`)")
        return 1 if args.check else 0
    todo = missing_translations(load(en_path))
    if todo:
        print(
            f"en: {len(todo)} entries need an English translation in {en_path.relative_to(ROOT)}:"
        )
        for msgid in todo:
            print(f"  {msgid}")
    else:
        print("en: complete")
    return 1 if (args.check and todo) else 0


if __name__ == "__main__":
    sys.exit(main())
