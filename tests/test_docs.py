"""The documentation: every relative link (and its #anchor) resolves, the README stays a front page,
and it keeps the two commands .ci/run reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """The #anchors of a Markdown file's headings, as GitHub makes them."""
    out = set()
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        text = line.lstrip("#").strip().lower()
        out.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return out


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # code blocks hold no links
    return [m.group(1) for m in LINK.finditer(text)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    broken = []
    for target in links(doc):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (doc.parent / file).resolve() if file else doc
        if not dest.exists() or (anchor and dest.suffix == ".md" and anchor not in anchors(dest)):
            broken.append(target)
    assert broken == [], f"{doc.name}: {broken}"


def test_the_readme_is_a_front_page_with_the_commands_ci_reads():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150
    for marker in ("<!-- install-and-run -->", "<!-- install-and-test -->"):
        after = lines[lines.index(marker) + 1 :]
        command = next(line for line in after if re.match(r"^(pip|python|streamlit)", line))
        assert command.startswith("pip install -r requirements"), (marker, command)
    assert (ROOT / "docs" / "img" / "optimizers.png").stat().st_size <= 300 * 1024
