"""jaxssl's bottom layer: helpers every package may import, importing no jaxssl package."""
