"""Every loss against its float64 reference: eager, jit, vmap, reductions, gradients."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from tests.losses.cases import CASES

DTYPES = {"f32": jnp.float32, "bf16": jnp.bfloat16}


def make_inputs(case, rng, n, dtype=jnp.float32):
    """The case's inputs for batch n, float ones cast to dtype (bf16 rounds them)."""
    return [
        jnp.asarray(a, dtype) if i in case.float_args else jnp.asarray(a)
        for i, a in enumerate(case.make(rng, n))
    ]


def host(arrays):
    """What the reference sees: the exact values the library got, as NumPy float64/int."""
    out = []
    for a in arrays:
        a = np.asarray(a)
        out.append(a.astype(np.float64) if a.dtype.kind == "f" or a.dtype.name == "bfloat16" else a)
    return out


def assert_close(actual, expected, case, scale=1.0):
    np.testing.assert_allclose(
        np.asarray(actual, np.float64), expected, rtol=case.rtol * scale, atol=case.atol * scale
    )


def takes_reduction(case):
    return "reduction" in inspect.signature(case.fn).parameters


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_eager_matches_reference(case, dtype, rng):
    # every size in float32; bfloat16 inputs (rounded, computed in float32) at
    # the middle one: the sizes' edge cases do not depend on the dtype, and each
    # size costs a compile of every op in eager mode
    for n in case.sizes if dtype == "f32" else case.sizes[1:2]:
        inputs = make_inputs(case, rng, n, DTYPES[dtype])
        value = case.fn(*inputs)
        # bf16 inputs are computed in float32: only the loss value is float32.
        assert value.shape == () and value.dtype == jnp.float32, (value.shape, value.dtype)
        assert_close(value, case.ref(*host(inputs)), case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_jit_matches_reference(case, rng):
    n = case.sizes[1]
    inputs = make_inputs(case, rng, n)
    assert_close(jax.jit(case.fn)(*inputs), case.ref(*host(inputs)), case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_vmap_over_independent_problems(case, rng):
    n, problems = case.sizes[1], 3
    per_problem = [make_inputs(case, rng, n) for _ in range(problems)]
    stacked = [jnp.stack(arrays) for arrays in zip(*per_problem, strict=True)]
    # under jit: vmap's batching rules are what is checked, not eager dispatch (eager is above)
    values = jax.jit(jax.vmap(case.fn))(*stacked)
    expected = [case.ref(*host(arrays)) for arrays in per_problem]
    assert values.shape == (problems,)
    assert_close(values, np.array(expected), case)


@pytest.mark.parametrize("case", [c for c in CASES if takes_reduction(c)], ids=lambda c: c.name)
def test_reductions_match_reference(case, rng):
    n = case.sizes[-1]
    inputs = make_inputs(case, rng, n)
    args = host(inputs)
    per_example = case.fn(*inputs, reduction="none")
    expected = case.ref(*args, reduction="none")
    assert per_example.shape == np.shape(expected)
    assert_close(per_example, expected, case)
    assert_close(case.fn(*inputs, reduction="sum"), case.ref(*args, reduction="sum"), case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradients_float64_match_finite_differences(case, rng):
    n = case.sizes[1]
    with jax.enable_x64(True):
        inputs = make_inputs(case, rng, n, jnp.float64)
        floats = [inputs[i] for i in case.float_args]

        def loss_of_floats(*xs):
            args = list(inputs)
            for i, x in zip(case.float_args, xs, strict=True):
                args[i] = x
            return case.fn(*args)

        assert loss_of_floats(*floats).dtype == jnp.float64
        # compiled once: finite differences evaluate the loss many times, and eager
        # dispatch of every primitive cost seconds per loss (eager is tested above)
        check_grads(jax.jit(loss_of_floats), floats, order=1, modes=("rev",), eps=1e-6)
