"""docs/formats.md is the project's data contract, and it stays in step with the code:
each import's column table matches the importer's declared columns (name, required,
allowed values), the JSON of `report summary`, `report quotas`, `report fairs`,
`rewards households` and `rewards vendors` documented is the JSON produced, every
command and option of the app is documented, the commands of the "being built" section
do not exist yet, and every configuration variable read is listed."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import click
import pytest

from marketplace.config import load_config
from vendors.imports import StockImport

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "formats.md"
HEADING = re.compile(r"^(#{2,3}) (.+)$", re.M)
IMPORT_HEADING = re.compile(r"^`import ([a-z-]+) FILE")
PLANNED = "Contract for commands being built"
# imports that are not `flask import` commands: heading -> importer
OTHER_IMPORTS = {"Stock update file (vendor page)": StockImport}
# command groups of Flask and its extensions, not part of this contract
FOREIGN_GROUPS = {"db"}


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC_PATH.read_text(encoding="utf-8")


def sections(doc: str) -> dict[str, str]:
    """``{heading text: body up to the next heading}`` for the ## and ### headings."""
    found = list(HEADING.finditer(doc))
    return {
        m.group(2).strip(): doc[m.end() : found[i + 1].start() if i + 1 < len(found) else None]
        for i, m in enumerate(found)
    }


def section_starting(found: dict[str, str], prefix: str) -> str:
    bodies = [body for heading, body in found.items() if heading.startswith(prefix)]
    assert len(bodies) == 1, f"docs/formats.md needs one section headed {prefix}..."
    return bodies[0]


def before_planned(doc: str) -> str:
    return doc.split(f"## {PLANNED}", 1)[0]


def planned_part(doc: str) -> str:
    parts = doc.split(f"## {PLANNED}", 1)
    assert len(parts) == 2, f'docs/formats.md has no "## {PLANNED}" section'
    return parts[1]


def first_table(body: str) -> list[dict[str, str]]:
    """The first Markdown table of ``body`` as one dict per row, keyed by its header."""
    lines = [line.strip() for line in body.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append([cell.strip() for cell in line.strip("|").split("|")])
    header, _rule, *rows = block
    return [dict(zip(header, row, strict=True)) for row in rows]


def backticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def documented_columns(body: str) -> dict[str, dict]:
    columns = {}
    for row in first_table(body):
        names = backticked(row["column"])
        assert len(names) == 1, f"one column per row, in backticks: {row['column']!r}"
        required = row["required"].split()[0].strip(",;:")
        assert required in {"yes", "no"}, f"{names[0]}: required must start with yes or no"
        columns[names[0]] = {
            "required": required == "yes",
            "allowed": set(backticked(row["allowed values"])),
        }
    return columns


def import_sections(doc: str) -> dict[str, str]:
    found = {}
    for heading, body in sections(before_planned(doc)).items():
        match = IMPORT_HEADING.match(heading)
        if match:
            found[match.group(1)] = body
    return found


def mismatches(importer, body: str) -> list[str]:
    documented = documented_columns(body)
    declared = {c.name: c for c in importer.columns}
    problems = [
        f"column {n!r} is documented but not declared" for n in documented.keys() - declared.keys()
    ]
    problems += [
        f"column {n!r} is declared but not documented" for n in declared.keys() - documented.keys()
    ]
    for name in documented.keys() & declared.keys():
        column, doc = declared[name], documented[name]
        if column.required != doc["required"]:
            problems.append(f"{name}: required is {column.required} in the code")
        # a choice column: its codes, and the Chinese words it accepts for them
        allowed = set(getattr(column.parse, "allowed", ()))
        allowed |= set(getattr(column.parse, "labels", {}))
        # only a choice column's values are checked: elsewhere backticks give examples
        if allowed and allowed != doc["allowed"]:
            problems.append(f"{name}: allowed values are {sorted(allowed)} in the code")
    return problems


# ---------------------------------------------------------------- imports


def test_every_registered_import_has_a_section_and_no_other(app, doc):
    assert set(import_sections(doc)) == set(app.extensions["importers"])


def test_each_imports_columns_match_the_importer(app, doc):
    problems = []
    for name, body in import_sections(doc).items():
        importer = app.extensions["importers"].get(name)
        if importer is not None:
            problems += [f"import {name}: {p}" for p in mismatches(importer, body)]
    all_sections = sections(doc)
    for heading, importer in OTHER_IMPORTS.items():
        assert heading in all_sections, f"docs/formats.md has no section {heading!r}"
        problems += [f"{heading}: {p}" for p in mismatches(importer, all_sections[heading])]
    assert problems == []


def test_the_column_check_notices_a_wrong_required_flag_and_a_missing_value(app, doc):
    body = import_sections(doc)["households"]
    importer = app.extensions["importers"]["households"]
    wrong = body.replace("| `members` | yes |", "| `members` | no |")
    wrong = wrong.replace("`monitored`", "`watched`")
    assert wrong != body
    assert sorted(mismatches(importer, wrong)) == [
        "members: required is True in the code",
        "status: allowed values are ['alleviated', 'edge', 'general', 'monitored', 'poor', "
        "'一般户', '已脱贫', '未脱贫', '监测户', '脱贫监测户', '边缘户'] in the code",
    ]


# ---------------------------------------------------------------- report JSON


def shape(value):
    """The keys and value types of a JSON document, values themselves left out."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def json_block(body: str):
    match = re.search(r"```json\n(.*?)```", body, re.S)
    assert match, "no ```json block"
    return json.loads(match.group(1))


def test_report_summary_json_documented_is_the_json_produced(doc, runner):
    body = section_starting(sections(before_planned(doc)), "`report summary")
    result = runner.invoke(args=["report", "summary", "--format", "json"])
    assert result.exit_code == 0, result.output
    produced = json.loads(result.output)
    assert shape(json_block(body)) == shape(produced)
    assert list(json_block(body)["channels"]) == list(produced["channels"])


def test_report_quotas_json_documented_is_the_json_produced(doc, runner):
    from ..procurement_helpers import agency

    agency("海口市教育局")  # one agency, so the produced list has a row to compare
    body = section_starting(sections(before_planned(doc)), "`report quotas")
    result = runner.invoke(args=["report", "quotas", "--format", "json"])
    assert result.exit_code == 0, result.output
    produced = json.loads(result.output)
    documented = json_block(body)
    assert set(documented) == set(produced) == {"year", "agencies", "total_reserved", "total_paid"}
    assert list(documented["agencies"][0]) == list(produced["agencies"][0])
    produced["agencies"][0]["percent_paid"] = 0.0  # null here: nothing reserved
    produced["agencies"][0]["ratio"] = 0.1
    assert shape(documented) == shape(produced)


def test_report_fairs_json_documented_is_the_json_produced(doc, runner):
    from datetime import date

    from ..order_factories import FairFactory

    body = section_starting(sections(before_planned(doc)), "`report fairs")
    FairFactory(date=date(2020, 5, 1), status="closed")
    result = runner.invoke(args=["report", "fairs", "--format", "json"])
    assert result.exit_code == 0, result.output
    produced = json.loads(result.output)
    documented = json_block(body)
    assert shape(documented) == shape(produced)
    assert list(documented) == list(produced)
    assert list(documented["fairs"][0]) == list(produced["fairs"][0])


def fixed_shape_keys(body: str) -> list[str]:
    """The keys named in a section's plain ``` block: the shape fixed before the command
    was built (the quoted words that are keys, not the values ``"assessed"|"estimate"``)."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", body, re.M | re.S)
    plain = [text for lang, text in blocks if not lang]
    assert len(plain) == 1, "one plain ``` block with the fixed shape"
    return re.findall(r'"(\w+)"', re.sub(r'"\w+"(\|"\w+")+', "", plain[0]))


def all_keys(value) -> list[str]:
    """Every key of a JSON document, depth first, in order, each list's first item only."""
    keys: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            keys.append(key)
            keys += all_keys(item)
    elif isinstance(value, list) and value:
        keys += all_keys(value[0])
    return keys


@pytest.fixture
def reward_year(frozen_clock):
    """A household and a coded vendor with a sale in 2025, so both lists have a row."""
    from ..rewards_helpers import YEAR, household_selling, in_year

    in_year(frozen_clock, YEAR + 1)
    household_selling(10000)
    return YEAR


@pytest.mark.parametrize("name", ["households", "vendors"])
def test_rewards_json_documented_is_the_json_produced(doc, runner, reward_year, name):
    body = section_starting(sections(before_planned(doc)), f"`rewards {name}")
    result = runner.invoke(args=["rewards", name, "--year", str(reward_year), "--format", "json"])
    assert result.exit_code == 0, result.output
    produced = json.loads(result.output)
    documented = json_block(body)
    if name == "vendors":
        produced["vendors"][0]["vendor_code"] = "V-001"  # null: a vendor not imported
    assert shape(documented) == shape(produced)
    assert all_keys(documented) == all_keys(produced)
    assert fixed_shape_keys(body) == all_keys(produced)
    assert '"assessed"|"estimate"' in body or name == "vendors"


# ---------------------------------------------------------------- commands


def app_commands(app) -> dict[str, click.Command]:
    """``{"group sub": command}`` for every command of the app's own groups."""
    found = {}
    for group_name, group in app.cli.commands.items():
        if group_name in FOREIGN_GROUPS or not isinstance(group, click.Group):
            continue
        for sub_name, command in group.commands.items():
            found[f"{group_name} {sub_name}"] = command
    return found


def test_every_command_and_option_is_documented(app, doc):
    built = before_planned(doc)
    missing = [name for name in app_commands(app) if f"`{name}" not in built]
    assert missing == []
    assert "`db upgrade`" in built
    options = {
        f"{name} {opt}"
        for name, command in app_commands(app).items()
        for param in command.params
        if isinstance(param, click.Option) and param.name != "help"
        for opt in param.opts
        if opt.startswith("--") and opt not in built
    }
    assert options == set()


def test_commands_being_built_do_not_exist_yet(app, doc):
    """When one of them is built, move its section above and test its JSON here."""
    planned = [
        " ".join(h.strip("`").split()[:2]) for h in sections(planned_part(doc)) if h.startswith("`")
    ]
    commands = app_commands(app)
    assert [name for name in planned if name in commands] == []


# ---------------------------------------------------------------- configuration


def test_every_configuration_variable_is_documented(doc):
    read = set(re.findall(r'env\.get\("([A-Z_]+)"', inspect.getsource(load_config)))
    assert {"DATABASE_URL", "SECRET_KEY", "APP_ENV"} <= read
    table = first_table(sections(doc)["Configuration"])
    listed = {name for row in table for name in backticked(row["variable"])}
    assert read - listed == set()
    assert listed - read == set()


# ---------------------------------------------------------------- no contract outside the repo


def test_nothing_points_to_a_formats_document_outside_the_repository():
    root = DOC_PATH.parents[1]
    outside = re.compile(r"\.\./shared|DATA_" + "FORMATS", re.I)
    files = [root / "README.md", *(root / "docs").rglob("*.md")]
    for folder in ("marketplace", "catalog", "vendors", "orders", "templates", "tests", "bench"):
        files += [p for p in (root / folder).rglob("*") if p.suffix in {".py", ".html", ".md"}]
    pointing = [
        str(path.relative_to(root))
        for path in files
        if outside.search(path.read_text(encoding="utf-8"))
    ]
    assert pointing == []
