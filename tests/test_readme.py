"""The README's examples run as written, its quickstart file is the same code, its links resolve."""

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
EXAMPLES = re.findall(r"<!-- test:example -->\n```python\n(.*?)```", README, re.S)


def test_readme_has_examples():
    assert len(EXAMPLES) == 2
    # A marker whose block the pattern misses (a ```py fence, say) would go untested.
    assert len(re.findall(r"^<!-- test:example -->$", README, re.M)) == len(EXAMPLES)


def _run(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    return out.getvalue()


def test_single_device_example_trains():
    printed = _run(EXAMPLES[0])
    before, after = (float(v) for v in re.findall(r"(?:before|after)\s+([\d.]+)", printed))
    assert after < before, printed  # gradient steps on the loss lower it


def test_multi_device_example_prints_the_global_loss():
    import jax

    from jaxssl import losses

    printed = _run(EXAMPLES[1])
    match = re.fullmatch(r"global loss (\d+\.\d{4})\n", printed)
    assert match, printed
    # The example's batch on one device (w is the identity there).
    x1, x2 = (jax.random.normal(jax.random.key(i), (64, 32)) for i in (1, 2))
    # Printed to 4 decimals (error <= 5e-5) plus float32 summation order across
    # 8 devices versus one (~1e-6): 6e-5 bounds both.
    assert abs(float(match.group(1)) - float(losses.nt_xent(x1, x2))) <= 6e-5


def test_quickstart_file_is_the_readme_example():
    body = (ROOT / "examples" / "quickstart.py").read_text()
    code_lines = [ln for ln in EXAMPLES[0].splitlines() if ln.strip()]
    file_lines = [ln for ln in body.splitlines() if ln.strip()]
    # The file adds a docstring and blank lines for ruff; the statements are the same.
    assert [ln for ln in file_lines if ln in code_lines] == code_lines


@pytest.mark.parametrize("script", ["examples/quickstart.py"])
def test_quickstart_runs_as_a_script(script):
    done = subprocess.run(
        [sys.executable, script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "after" in done.stdout


def _relative_links(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # not inside code blocks
    text = re.sub(r"`[^`\n]*`", "", text)  # nor inside code spans
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text)
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


def test_readme_relative_links_resolve():
    links = _relative_links(README)
    assert links, "the README links to its docs pages"
    missing = [t for t in links if not (ROOT / t.split("#", 1)[0]).exists()]
    assert not missing, missing


def test_readme_links_every_docs_page():
    linked = {t.split("#", 1)[0] for t in _relative_links(README)}
    pages = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert pages, "docs/ has pages"
    assert pages <= linked, sorted(pages - linked)
