"""The docs quote real files and name real tests: every block marked `<!-- file: PATH -->` must equal that file,
and every test a case table names must exist."""

import re

import pytest

from ercan.sources import PROJECT_ROOT

GUIDE = PROJECT_ROOT / "docs" / "adding_a_source.md"
QUOTED = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```\n", GUIDE.read_text(encoding="utf-8"), flags=re.S)


def test_the_guide_quotes_the_example_files():
    assert {path for path, _ in QUOTED} >= {"harmonizers/cikd2024/source.yaml", "expectations/cikd2024.json",
                                            "tests/test_harmonizer_cikd2024.py"}


@pytest.mark.parametrize(("path", "text"), QUOTED, ids=[p for p, _ in QUOTED])
def test_quoted_file_is_current(path, text):
    assert (PROJECT_ROOT / path).read_text(encoding="utf-8") == text, f"docs/adding_a_source.md quotes an old {path}"


# The case tables of issue 9: the last column names the test(s) of each row. A bare id in
# bad_inputs.md is a case of test_bad_csv_input; a bare test name is in the doc's own test module.
CASE_TABLES = {"bad_inputs.md": "tests/test_bad_inputs.py", "security.md": "tests/test_security.py",
               "reliability.md": None}
TEST_REFERENCE = re.compile(r"`(?:(tests/\w+\.py)::)?(test_\w+)(?:\[([^\]]+)\])?`")


def _named_tests(doc: str) -> list[tuple[str, str, str]]:
    """(module, test, parameter id or "") for every test a case table of `doc` names."""
    named = []
    for line in (PROJECT_ROOT / "docs" / doc).read_text(encoding="utf-8").splitlines():
        cells = line.split(" | ")
        if not line.startswith("| ") or len(cells) < 3 or set(line) <= set("|- "):
            continue
        last = cells[-1].rstrip(" |")
        if last in ("test", "test name"):
            continue
        found = [(module or CASE_TABLES[doc], test, parameter) for module, test, parameter in TEST_REFERENCE.findall(last)]
        if not found and doc == "bad_inputs.md":
            found = [(CASE_TABLES[doc], "test_bad_csv_input", case) for case in re.findall(r"`(\w+)`", last)]
        assert found, f"docs/{doc}: the row {line[:80]!r} names no test"
        named += found
    return named


@pytest.mark.parametrize("doc", CASE_TABLES)
def test_every_test_a_case_table_names_exists(doc):
    for module, test, parameter in _named_tests(doc):
        assert module, f"docs/{doc}: name the module of {test}"
        source = (PROJECT_ROOT / module).read_text(encoding="utf-8")
        assert f"def {test}(" in source, f"docs/{doc} names {module}::{test}, which does not exist"
        if parameter:
            assert f'"{parameter}"' in source, f"docs/{doc} names {module}::{test}[{parameter}], which does not exist"


def test_the_guide_lists_every_declaration_key():
    """The guide's table of keys names every field of the declaration's models: a key added to the
    readers is documented where a steward looks for it."""
    from ercan import declaration

    table = GUIDE.read_text(encoding="utf-8").split("## 3.", 1)[1].split("## 4.", 1)[0]
    models = [declaration.Declaration, declaration.Input, declaration.Reading, declaration.Column,
              declaration.Values, declaration.Drop]
    missing = [f"{model.__name__}.{name}" for model in models for name in model.model_fields
               if not re.search(rf"[`.]{name}\b", table)]
    assert not missing, f"docs/adding_a_source.md, section 3: document {missing}"
