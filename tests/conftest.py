"""Test set-up: 8 simulated CPU devices for every test, and seeded RNGs.

XLA reads the device count once, when JAX first starts a backend, so it is set
here, before anything imports JAX.

JAX's persistent compilation cache is on, in a folder of this test session
shared by the xdist workers and the ``train.py`` subprocesses they start (all
inherit the environment): many tests compile the same programs (the tiny
config's train step above all), and a cached executable is the one a fresh
compile would give, so only the time to start changes. A cache folder set by
the caller is used as it is. Every executable goes in, however quick its
compile: the workers and subprocesses share the many small ones too.

XLA:CPU generates machine code at LLVM's optimisation level 0 here, unless
the caller's XLA_FLAGS choose a level. Compiling is about two thirds of this
suite's time on a CPU, and code generation is most of each compile. XLA
still runs every HLO pass (fusion, layouts, algebraic simplification), so the
programs are the same and only their machine code is less optimised: a float
result can change in its last bit (the tiny SimCLR step's loss moves by one
ulp), and no test compares results across two sets of flags. Measured on the
2-core machine: the tiny step's compile 4.29 s -> 2.18 s, the suite 778 s ->
617 s. Runs outside the tests use XLA's default level. (XLA's older loop
emitters, --xla_cpu_use_fusion_emitters=false, halve the compile again, but
with them 8 devices no longer give 1 device's augmented views: not used.)
"""

import os
import shutil
import tempfile
import zlib

_OWN_CACHE = None
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _OWN_CACHE = tempfile.mkdtemp(prefix="jaxssl-tests-xla-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _OWN_CACHE

os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count=8"
OPT_LEVEL_FLAG = "--xla_backend_optimization_level"


def _add_xla_flag(flag: str, name: str) -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if name not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {flag}".strip()


_add_xla_flag(DEVICE_COUNT_FLAG, DEVICE_COUNT_FLAG)
_add_xla_flag(f"{OPT_LEVEL_FLAG}=0", OPT_LEVEL_FLAG)
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

N_DEVICES = 8


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run first (otherwise in collection order).

    With pytest-xdist both workers then start on the long tests and the many
    short ones fill in around them, instead of one long test running alone
    at the end while the other worker idles.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_unconfigure(config):
    if _OWN_CACHE is not None:  # only the process that made the folder removes it
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


def pytest_configure(config):
    if jax.device_count() != N_DEVICES:
        raise pytest.UsageError(
            f"tests need {N_DEVICES} simulated devices, JAX sees {jax.device_count()}: "
            "was JAX initialised before tests/conftest.py set XLA_FLAGS?"
        )


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A NumPy generator seeded from the test's id: stable across runs and machines."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture
def key(request) -> jax.Array:
    """A JAX PRNG key seeded from the test's id."""
    return jax.random.key(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A TFDS data dir with both bundled datasets built (once per test process)."""
    from jaxssl import data

    path = tmp_path_factory.mktemp("tfds")
    for name in data.BUNDLED:
        data.build_bundled(name, str(path))
    return str(path)
