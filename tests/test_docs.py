"""The examples of docs/*.md run as written and print what the page says; links resolve.

A runnable example is a line ``<!-- test:example -->`` followed by a fenced
``python`` block. When the block is followed by ``<!-- test:output -->`` and a
fenced ``text`` block, what the example prints must be exactly that text.
The README's examples have their own checks in tests/test_readme.py.
"""

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))

MARKER = "<!-- test:example -->"
OUTPUT_MARKER = "<!-- test:output -->"
EXAMPLE = re.compile(
    r"<!-- test:example -->\n```python\n(?P<code>.*?)```\n"
    r"(?:\n<!-- test:output -->\n```text\n(?P<output>.*?)```\n)?",
    re.S,
)
# [text](target) and ![alt](target), outside code spans; targets without a scheme.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _marker_lines(text: str, marker: str) -> int:
    return len(re.findall(rf"^{re.escape(marker)}$", text, re.M))


def examples(path: Path) -> list[tuple[str, str | None]]:
    return [(m["code"], m["output"]) for m in EXAMPLE.finditer(path.read_text())]


CASES = [
    pytest.param(page, i, id=f"{page.name}:{i}")
    for page in PAGES
    for i in range(len(examples(page)))
]


def test_docs_pages_exist():
    names = {p.name for p in PAGES}
    expected = {
        "losses.md",
        "data.md",
        "training.md",
        "methods.md",
        "evaluation.md",
        "many_hosts.md",
        "fault_tolerance.md",
        "performance.md",
        "development.md",
    }
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_marker_is_a_runnable_example(page):
    # A marker not followed by a python block (a typo, a ```py fence) would be
    # skipped silently; so would an output marker that follows no example.
    # Markers are whole lines; one quoted in a code span is prose.
    text = page.read_text()
    matches = list(EXAMPLE.finditer(text))
    assert _marker_lines(text, MARKER) == len(matches), page.name
    outputs = sum(m["output"] is not None for m in matches)
    assert _marker_lines(text, OUTPUT_MARKER) == outputs, page.name


def test_docs_have_examples():
    assert len(CASES) >= 8  # losses, data, methods, evaluation, ...


@pytest.mark.parametrize(("page", "index"), CASES)
def test_docs_example_runs(page, index, request, monkeypatch):
    code, expected = examples(page)[index]
    if "data_source(" in code:
        # The example builds the bundled digits where TFDS keeps its data;
        # here that is the session's prepared folder, not the home directory.
        monkeypatch.setenv("TFDS_DATA_DIR", request.getfixturevalue("data_dir"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{page.name} example {index}", "exec"), {"__name__": "__docs__"})
    if expected is not None:
        assert out.getvalue() == expected, out.getvalue()


def relative_links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # not inside code blocks
    text = re.sub(r"`[^`\n]*`", "", text)  # nor inside code spans
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]
    return [t for t in targets if not t.startswith("#")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_links_resolve(page):
    missing = [t for t in relative_links(page) if not (page.parent / t.split("#", 1)[0]).exists()]
    assert not missing, missing


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_anchors_exist(page):
    # Links to a heading of the same or another page: GitHub's slug of the heading.
    def slugs(path: Path) -> set[str]:
        text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
        heads = re.findall(r"^#+ (.+)$", text, re.M)
        return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}

    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in LINK.findall(text):
        if "#" not in target or re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue
        file, anchor = target.split("#", 1)
        where = page if not file else page.parent / file
        assert anchor in slugs(where), f"{page.name}: {target}"
