import pytest

from jaxssl import data


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A TFDS data dir with both bundled datasets built (once per test process)."""
    path = tmp_path_factory.mktemp("tfds")
    for name in data.BUNDLED:
        data.build_bundled(name, str(path))
    return str(path)
