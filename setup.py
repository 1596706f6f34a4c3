"""The one build setting pyproject.toml cannot state: configs/ ships as the package jaxssl.configs.

pyproject.toml's package discovery finds packages only where their folder is,
so the list is made here: every ``jaxssl*`` package of the tree, plus the
repository's ``configs/`` folder installed under the name ``jaxssl.configs``
(``jaxssl-train --config=NAME`` finds the shipped configs there, from any
directory; in a checkout ``--config=configs/NAME.py`` still reads them where
they are). Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["jaxssl", "jaxssl.*"]), "jaxssl.configs"],
    package_dir={"jaxssl.configs": "configs"},
)
