"""Packaging: the wheel ships the configs as jaxssl.configs and the jaxssl-train script.

``--config`` takes a shipped config's name (``NAME[:ARG]``) or a file's path;
these tests check how a value is resolved, the flag errors, and, on a wheel
built from a copy of the tree (no network, no install), what it holds.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from absl import flags

from jaxssl import cli
from jaxssl.train.config import load_config_file

ROOT = Path(__file__).resolve().parents[1]
CONFIG_NAMES = sorted(p.stem for p in (ROOT / "configs").glob("*.py") if p.stem != "__init__")


@contextlib.contextmanager
def _argv(argv: list[str]):
    """``sys.argv = argv`` (ml_collections reads the overrides there); flags reset afterwards."""
    saved, sys.argv = sys.argv, argv
    try:
        yield
    finally:
        sys.argv = saved
        flags.FLAGS.unparse_flags()


def test_the_names_are_the_files_of_configs():
    assert CONFIG_NAMES  # the glob found the folder
    assert cli.config_names() == CONFIG_NAMES
    assert Path(cli.configs_dir()).samefile(ROOT / "configs")


def test_a_name_resolves_to_the_shipped_file_and_its_argument():
    shipped = Path(cli.configs_dir())
    path, arg = cli.resolve_config("simclr_digits")
    assert (Path(path), arg) == (shipped / "simclr_digits.py", None)
    path, arg = cli.resolve_config("simclr_cifar10:800")
    assert (Path(path), arg) == (shipped / "simclr_cifar10.py", "800")
    assert load_config_file(path, arg).num_epochs == 800


def test_a_path_is_kept_as_given(monkeypatch):
    absolute = str(ROOT / "configs" / "tiny.py")
    assert cli.resolve_config(absolute) == (absolute, None)
    assert cli.resolve_config(f"{absolute}:x:y") == (absolute, "x:y")
    monkeypatch.chdir(ROOT)
    assert cli.resolve_config("configs/simclr_cifar10.py:800") == (
        "configs/simclr_cifar10.py",
        "800",
    )


def test_an_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="no shipped config named 'nonexistent'") as error:
        cli.resolve_config("nonexistent:3")
    assert f"the names are: {', '.join(CONFIG_NAMES)} " in str(error.value)


def test_a_missing_file_says_so_and_points_to_the_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"config file 'tiny\.py' does not exist; .*--config=tiny"):
        cli.resolve_config("tiny.py")
    with pytest.raises(ValueError, match=r"config file 'a/b\.py' does not exist\.$"):
        cli.resolve_config("a/b.py")


def test_the_flag_takes_a_name_and_its_overrides():
    argv = ["jaxssl-train", "--config=tiny", "--config.num_steps=3"]
    with _argv(argv):
        assert cli.parse_flags(argv) == ["jaxssl-train"]
        config = cli._CONFIG.value
    expected = load_config_file(str(ROOT / "configs" / "tiny.py"))
    expected.num_steps = 3
    assert config.to_dict() == expected.to_dict()


def test_the_default_is_the_shipped_simclr_digits():
    assert flags.FLAGS["config"].default_as_str == "'simclr_digits'"
    with _argv(["jaxssl-train"]):
        cli.parse_flags(["jaxssl-train"])
        config = cli._CONFIG.value
    expected = load_config_file(str(ROOT / "configs" / "simclr_digits.py"))
    assert config.to_dict() == expected.to_dict()


def test_an_unknown_name_exits_with_status_1_and_one_line(capsys):
    argv = ["jaxssl-train", "--config=nonexistent"]
    with _argv(argv), pytest.raises(SystemExit) as exit_:
        cli._parse_flags_or_exit(argv)
    assert exit_.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(
        "FATAL Flags parsing error: flag --config=nonexistent: no shipped config named"
    )
    assert "simclr_digits" in lines[0]
    assert lines[1:] == ["Pass --helpshort or --helpfull to see help on flags."]


def test_helpshort_shows_the_name_form():
    # train.py is the thin script; run_cli puts the flags under the main module for absl.
    out = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--helpshort"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )
    assert "--config: A shipped config by name, NAME or NAME:ARG" in out.stdout, out.stderr
    assert " ".join(out.stdout.split()).count(f"The names: {', '.join(CONFIG_NAMES)}.") == 1
    assert "(default: 'simclr_digits')" in out.stdout
    assert "--workdir" in out.stdout


def _tree_copy(destination: Path) -> Path:
    """What the build reads (not the checkout itself: a build writes build/ and egg-info)."""
    destination.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, destination / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("jaxssl", "configs"):
        shutil.copytree(ROOT / name, destination / name, ignore=ignore)
    return destination


def test_the_wheel_ships_every_config_package_and_the_script(tmp_path):
    source = _tree_copy(tmp_path / "src")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet"),
            *("--no-deps", "--no-build-isolation", "--no-index"),  # offline: this venv's setuptools
            *("--wheel-dir", str(tmp_path / "dist"), str(source)),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("jaxssl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    for name in [*CONFIG_NAMES, "__init__"]:
        assert f"jaxssl/configs/{name}.py" in names
    assert not [n for n in names if n.startswith("configs/")]  # no top-level configs package
    packages = [p.parent.relative_to(ROOT) for p in (ROOT / "jaxssl").rglob("__init__.py")]
    for package in packages:
        assert f"{package.as_posix()}/__init__.py" in names, f"{package} is not in the wheel"
    assert "jaxssl/cli.py" in names
    assert "[console_scripts]\njaxssl-train = jaxssl.cli:run_cli" in scripts
