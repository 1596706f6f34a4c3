r"""Classification losses: softmax cross-entropy, sigmoid BCE, masked language modelling.

All computed from logits with ``log_softmax``/``softplus`` (never a bare
``exp``/``log`` of probabilities), in float32 for low-precision logits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxssl.losses._common import (
    REDUCTIONS,
    as_float,
    as_int,
    bce_with_logits,
    check_choice,
    check_in_range,
    check_min_rank,
    check_not_empty,
    check_rank,
    check_same_shape,
    reduce_examples,
)


def _check_where(where, shape: tuple[int, ...], name: str) -> jax.Array | None:
    if where is None:
        return None
    where = jnp.asarray(where)
    if where.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {where.shape}.")
    if where.dtype != jnp.bool_:
        if not jnp.issubdtype(where.dtype, jnp.integer):
            raise TypeError(f"{name} must be a boolean (or 0/1 integer) array, got {where.dtype}.")
        where = where != 0
    return where


def _check_label_range(labels: jax.Array, num_classes: int, where: jax.Array | None) -> None:
    # Only possible when the labels are concrete (eager calls); under jit an
    # out-of-range label gives an all-zero one-hot row, as jax.nn.one_hot does.
    if isinstance(labels, jax.core.Tracer) or isinstance(where, jax.core.Tracer):
        return
    values = np.asarray(labels)
    if where is not None:
        values = values[np.asarray(where)]
    bad = (values < 0) | (values >= num_classes)
    if bad.any():
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for logits with {num_classes} classes "
            f"(positions excluded by `where` may hold anything), got {values[bad][:5].tolist()}."
        )


def softmax_cross_entropy(
    logits: jax.Array,
    labels: jax.Array,
    *,
    label_smoothing: float = 0.0,
    where: jax.Array | None = None,
    reduction: str = "mean",
) -> jax.Array:
    r"""Softmax cross-entropy with integer or probability labels.

    With :math:`C` classes and target distribution :math:`t` (one-hot of an
    integer label, or given), label smoothing :math:`\alpha` uses
    :math:`t' = (1-\alpha)\,t + \alpha / C` and

    .. math::

        \ell = -\sum_c t'_c \log \operatorname{softmax}(x)_c .

    Args:
      logits: ``[..., C]`` float logits.
      labels: ``[...]`` integer class indices in ``[0, C)``, or ``[..., C]``
        float target probabilities.
      label_smoothing: :math:`\alpha \in [0, 1]`.
      where: optional ``[...]`` boolean (or 0/1 integer) mask; positions where it is False get
        loss 0 and are left out of the mean. A mask with no True gives 0.
      reduction: ``'mean'`` (over the positions kept by ``where``), ``'sum'``
        or ``'none'`` (shape ``[...]``).

    Returns:
      The loss, float32 (float64 for float64 logits).

    Raises:
      TypeError: non-float logits; labels neither integer nor float.
      ValueError: label shape fits neither form; integer labels out of range
        (checked when the labels are concrete, i.e. outside jit);
        ``label_smoothing`` outside [0, 1]; ``where`` of the wrong shape;
        unknown ``reduction``.

    References:
      Szegedy et al., "Rethinking the Inception Architecture for Computer
      Vision", CVPR 2016, section 7 (label smoothing).

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> float(losses.softmax_cross_entropy(jnp.zeros((2, 4)), jnp.array([1, 3])))  # log 4
      1.3862...
    """
    x = as_float(logits, "logits")
    check_min_rank(x, "logits", 1, "[..., C]")
    check_not_empty(x, "logits")
    labels = jnp.asarray(labels)
    check_in_range(label_smoothing, "label_smoothing", 0.0, 1.0)
    check_choice(reduction, "reduction", REDUCTIONS)
    batch_shape, num_classes = x.shape[:-1], x.shape[-1]
    where = _check_where(where, batch_shape, "where")

    log_p = jax.nn.log_softmax(x, axis=-1)
    if jnp.issubdtype(labels.dtype, jnp.integer):
        if labels.shape != batch_shape:
            raise ValueError(
                f"integer labels must have shape logits.shape[:-1] = {batch_shape}, "
                f"got shape {labels.shape}."
            )
        _check_label_range(labels, num_classes, where)
        target = jax.nn.one_hot(labels, num_classes, dtype=x.dtype)
    elif jnp.issubdtype(labels.dtype, jnp.floating):
        if labels.shape != x.shape:
            raise ValueError(
                f"float labels (probabilities) must have the shape of logits {x.shape}, "
                f"got shape {labels.shape}."
            )
        target = labels.astype(x.dtype)
    else:
        raise TypeError(
            f"labels must be integer indices or float probabilities, got {labels.dtype}."
        )
    if not (isinstance(label_smoothing, int | float) and label_smoothing == 0):
        target = (1.0 - label_smoothing) * target + label_smoothing / num_classes
    per_example = -jnp.sum(target * log_p, axis=-1)
    if where is None:
        return reduce_examples(per_example, reduction)
    per_example = jnp.where(where, per_example, 0.0)
    return reduce_examples(per_example, reduction, weights=where)


def sigmoid_binary_cross_entropy(
    logits: jax.Array, targets: jax.Array, *, reduction: str = "mean"
) -> jax.Array:
    r"""Binary cross-entropy on logits, elementwise.

    .. math::

        \ell = -t \log \sigma(x) - (1 - t) \log(1 - \sigma(x))
             = \max(x, 0) - t\,x + \log(1 + e^{-|x|})

    computed in the right-hand form, exact in float32 for any logit.

    Args:
      logits: float logits, any shape.
      targets: same shape, values in [0, 1] (bool and integer 0/1 accepted).
      reduction: ``'mean'`` over all elements, ``'sum'``, or ``'none'``
        (elementwise, the shape of ``logits``).

    Returns:
      The loss, float32 (float64 for float64 logits).

    Raises:
      TypeError: non-float logits.
      ValueError: shapes differ; unknown ``reduction``.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> float(losses.sigmoid_binary_cross_entropy(jnp.zeros(3), jnp.array([0.0, 1.0, 0.5])))
      0.6931...
    """
    x = as_float(logits, "logits")
    t = jnp.asarray(targets)
    check_same_shape(logits=x, targets=t)
    check_not_empty(x, "logits")
    check_choice(reduction, "reduction", REDUCTIONS)
    per_element = bce_with_logits(x, t.astype(x.dtype))
    return reduce_examples(per_element, reduction)


def masked_lm_loss(
    logits: jax.Array,
    targets: jax.Array,
    mask: jax.Array,
    *,
    reduction: str = "mean",
    return_metrics: bool = False,
) -> jax.Array | tuple[jax.Array, dict[str, jax.Array]]:
    r"""Masked-language-model loss: cross-entropy at the masked positions only.

    .. math::

        L = \frac{1}{\sum_{b,t} m_{bt}} \sum_{b,t} m_{bt}\,
            \bigl(-\log \operatorname{softmax}(x_{bt})_{y_{bt}}\bigr)

    A batch with no masked position gives 0, not NaN. Targets at unmasked
    positions are ignored and may hold anything (padding ids, -1, ...).

    Args:
      logits: ``[B, T, V]`` float logits.
      targets: ``[B, T]`` integer token ids.
      mask: ``[B, T]`` boolean (or 0/1 integers), True where a token was masked.
      reduction: ``'mean'`` over masked positions, ``'sum'``, or ``'none'``
        (``[B, T]``, 0 at unmasked positions).
      return_metrics: also return ``{'accuracy'}``: the fraction of masked
        positions whose arg-max prediction is the target.

    Returns:
      The loss (float32), and with ``return_metrics`` a ``(loss, metrics)`` pair.

    Raises:
      TypeError: non-float logits, non-integer targets.
      ValueError: ranks or shapes that do not fit, targets out of range at
        masked positions (eager calls), unknown ``reduction``.

    References:
      Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
      Language Understanding", NAACL 2019, section 3.1.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxssl import losses
      >>> logits = jnp.zeros((1, 3, 5))
      >>> float(losses.masked_lm_loss(logits, jnp.array([[1, 2, -1]]), jnp.array([[1, 1, 0]])))
      1.6094...
    """
    x = as_float(logits, "logits")
    y = as_int(targets, "targets")
    check_rank(x, "logits", 3, "[B, T, V]")
    check_rank(y, "targets", 2, "[B, T]")
    check_not_empty(x, "logits")
    if y.shape != x.shape[:2]:
        raise ValueError(f"targets must have shape [B, T] = {x.shape[:2]}, got shape {y.shape}.")
    where = _check_where(mask, x.shape[:2], "mask")
    loss = softmax_cross_entropy(x, y, where=where, reduction=reduction)
    if not return_metrics:
        return loss
    correct = (jnp.argmax(x, axis=-1) == y) & where
    accuracy = jnp.sum(correct) / jnp.maximum(jnp.sum(where), 1)
    return loss, {"accuracy": accuracy}
