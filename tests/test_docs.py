"""The guide quotes real files: every block marked `<!-- file: PATH -->` must equal that file."""

import re

import pytest

from ercan.sources import PROJECT_ROOT

GUIDE = PROJECT_ROOT / "docs" / "adding_a_source.md"
QUOTED = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```\n", GUIDE.read_text(encoding="utf-8"), flags=re.S)


def test_the_guide_quotes_the_example_files():
    assert {path for path, _ in QUOTED} >= {"harmonizers/cikd2024.py", "expectations/cikd2024.json",
                                            "tests/test_harmonizer_cikd2024.py"}


@pytest.mark.parametrize(("path", "text"), QUOTED, ids=[p for p, _ in QUOTED])
def test_quoted_file_is_current(path, text):
    assert (PROJECT_ROOT / path).read_text(encoding="utf-8") == text, f"docs/adding_a_source.md quotes an old {path}"
