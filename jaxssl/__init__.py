"""jaxssl: self-supervised learning in JAX, from exact losses to training at scale."""

from jaxssl import losses

__all__ = ["losses"]
__version__ = "0.1.0"
