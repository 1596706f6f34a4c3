"""What a method is, and the optional capabilities a program may need of it.

Every method is a :class:`Method`: ``init`` makes its variables from a sample
batch, ``axis_name`` is the ``pmap`` axis (None under ``jit``); and it trains
either by a :class:`LossFn` (the pure loss the generic train step
differentiates: every method but the GAN) or by an :class:`OwnUpdate`.
Anything beyond that
is a capability, declared here as its own :class:`typing.Protocol`; a method
has it by defining the attributes (no base class to inherit), and a program
that needs one checks it once at start-up with :func:`require`, so a missing
piece is one clear error naming the method and the attribute, before
anything is compiled.

============================  ================================================
capability                    who has it / who needs it
============================  ================================================
:class:`LossFn`               all but the GAN; the generic train step
:class:`PostUpdate`           EMA targets, queues (MoCo, BYOL); the train step
:class:`OwnUpdate`            several networks and optimizers (the GAN); the
                              train step and the optimizer set-up
:class:`Features`             every image method; kNN, probes, k-means
:class:`Logits`               the classifier; fine-tuning's test metrics
:class:`EvalTerms`            AE, VAE, language models; held-out numbers
:class:`Summarize`            language models: held-out ratios (bits/byte)
:class:`Pictures`             AE, VAE, GAN; PNG grids
:class:`InitFromKeys`         the classifier: what ``init_from`` copies
============================  ================================================

``runtime_checkable`` protocols check that the attributes exist, not their
signatures; the signatures below are the contract.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar, Protocol, runtime_checkable

import jax
import optax


@runtime_checkable
class Method(Protocol):
    """The contract of every method: its variables, and the device axis it reduces over."""

    axis_name: Hashable | None

    def init(self, rng: jax.Array, sample: dict) -> dict:
        """Variables (``params``; ``batch_stats``, ``method`` if any) from a sample batch."""
        ...


@runtime_checkable
class LossFn(Protocol):
    """A loss the generic train step differentiates.

    ``loss_fn(params, state, batch, rng) -> (loss, (new_state, metrics))``
    is pure; ``state`` is ``{'batch_stats': ..., 'method': ...}`` (BatchNorm
    statistics and what the method carries besides parameters).
    """

    def loss_fn(self, params: Any, state: dict, batch: dict, rng: jax.Array) -> tuple:
        """``(loss, (new_state, metrics))``."""
        ...


@runtime_checkable
class PostUpdate(Protocol):
    """Runs after the optimizer each step (an EMA target, a queue)."""

    def post_update(self, train_state: Any) -> Any:
        """The train state after the method's own update."""
        ...


@runtime_checkable
class OwnUpdate(Protocol):
    """Replaces the single gradient step: several networks, one optimizer each (the GAN)."""

    def optimizer(self, tx: optax.GradientTransformation) -> optax.GradientTransformation:
        """The per-network optimizer built from the run's ``tx``."""
        ...

    def update(self, train_state: Any, batch: dict, rng: jax.Array, tx) -> tuple:
        """``(new_train_state, grads, metrics)``, averaged over devices by itself."""
        ...


@runtime_checkable
class Features(Protocol):
    """The representation that kNN, linear probes and k-means evaluate."""

    def features(self, params: Any, state: dict, images: jax.Array) -> jax.Array:
        """Encoder features ``[B, F]`` (float32) of un-augmented images."""
        ...


@runtime_checkable
class Logits(Protocol):
    """Class scores of a classification method."""

    def logits(self, params: Any, state: dict, images: jax.Array) -> jax.Array:
        """``[B, num_classes]`` in inference mode."""
        ...


@runtime_checkable
class EvalTerms(Protocol):
    """Per-example held-out numbers, averaged over the eval split as ``eval_<name>``."""

    EVAL_TERMS: ClassVar[tuple[str, ...]]

    def eval_terms(self, params: Any, state: dict, inputs: jax.Array) -> jax.Array:
        """``[B, len(EVAL_TERMS)]``, one column per term."""
        ...


@runtime_checkable
class Summarize(Protocol):
    """Turns the held-out means into the numbers reported (ratios such as bits per byte)."""

    def summarize(self, means: dict) -> dict:
        """``{name: value}`` from ``{term: mean}``."""
        ...


@runtime_checkable
class Pictures(Protocol):
    """Image grids (reconstructions, samples), saved as PNG."""

    def pictures(self, params: Any, state: dict, images: jax.Array, rng: jax.Array) -> dict:
        """``{name: grid [H, W, C]}``."""
        ...


@runtime_checkable
class InitFromKeys(Protocol):
    """The top-level parameter keys ``config.init_from`` copies (the rest stays fresh)."""

    init_from_keys: tuple[str, ...]


def has(method: object, capability: type) -> bool:
    """Whether ``method`` has ``capability`` (one of this module's protocols)."""
    return isinstance(method, capability)


def require(method: object, name: str, needed: tuple[type, ...], needed_by: str) -> None:
    """``TypeError`` naming ``name`` and the first capability in ``needed`` it lacks.

    Args:
      method: the built method.
      name: its ``config.method`` name, for the message.
      needed: the protocols the caller relies on.
      needed_by: what needs them (``"the pretrain program"``), for the message.
    """
    for capability in needed:
        if not isinstance(method, capability):
            missing = [
                attr
                for attr in _attributes(capability)
                if not hasattr(method, attr)  # what the protocol asks for, for the message
            ]
            raise TypeError(
                f"method {name!r} ({type(method).__name__}) cannot run in {needed_by}: it has "
                f"no {', '.join(missing)} (jaxssl.methods.protocol.{capability.__name__})."
            )


def _attributes(capability: type) -> list[str]:
    names = set(getattr(capability, "__protocol_attrs__", ()))
    if not names:  # Python < 3.12 keeps them nowhere public: the annotations and functions
        names = set(capability.__annotations__) | {
            k for k, v in vars(capability).items() if callable(v) and not k.startswith("_")
        }
    return sorted(names)
