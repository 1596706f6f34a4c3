"""The README's example: NT-Xent from jaxssl inside plain JAX code."""

import jax

from jaxssl import losses


def loss_fn(w, x1, x2):  # your encoder; here a single linear map
    return losses.nt_xent(x1 @ w, x2 @ w, temperature=0.2)


k = jax.random.split(jax.random.key(0), 4)
x = jax.random.normal(k[0], (256, 32))
x1, x2 = (x + 0.3 * jax.random.normal(ki, x.shape) for ki in k[1:3])  # two "views"
w = jax.random.normal(k[3], (32, 16)) / 32**0.5
step = jax.jit(lambda w: w - 0.5 * jax.grad(loss_fn)(w, x1, x2))
print(f"before {loss_fn(w, x1, x2):.3f}")
for _ in range(50):
    w = step(w)
print(f"after  {loss_fn(w, x1, x2):.3f}")
