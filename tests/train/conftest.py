from pathlib import Path

import pytest

from jaxssl.train.config import load_config_file

ROOT = Path(__file__).resolve().parents[2]


def load_config(name: str, arg: str | None = None):
    """``get_config`` of ``configs/NAME.py``, loaded from its file like train.py does."""
    return load_config_file(str(ROOT / "configs" / f"{name}.py"), arg)


@pytest.fixture
def tiny_config(data_dir):
    config = load_config("tiny")
    config.data_dir = data_dir
    return config
