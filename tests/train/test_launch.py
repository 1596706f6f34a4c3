"""Multi-process launch detection (jax.distributed.initialize is called only when it is one)."""

import pytest

from jaxssl.train.launch import is_multiprocess_launch
from jaxssl.train.parallel import check_batch_size


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"SLURM_NTASKS": "1"}, False),
        ({"SLURM_NTASKS": "4"}, True),
        ({"OMPI_COMM_WORLD_SIZE": "2"}, True),
        ({"TPU_WORKER_HOSTNAMES": "localhost"}, False),
        ({"TPU_WORKER_HOSTNAMES": "t1k-0,t1k-1,t1k-2,t1k-3"}, True),
        ({"JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234"}, True),
    ],
)
def test_is_multiprocess_launch(env, expected):
    assert is_multiprocess_launch(env) is expected


def test_check_batch_size():
    check_batch_size(64, 8, 2)
    with pytest.raises(ValueError, match="batch_size=12 does not divide over 8 devices"):
        check_batch_size(12, 8)
    with pytest.raises(ValueError, match="batch_size=9 does not divide over 2 processes"):
        check_batch_size(9, 1, 2)
