import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_config(name: str, arg: str | None = None):
    """``get_config`` of ``configs/NAME.py``, loaded from its file like train.py does."""
    spec = importlib.util.spec_from_file_location(f"_cfg_{name}", ROOT / "configs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config() if arg is None else module.get_config(arg)


@pytest.fixture
def tiny_config(data_dir):
    config = load_config("tiny")
    config.data_dir = data_dir
    return config
