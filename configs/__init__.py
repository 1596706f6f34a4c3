"""The shipped configs: ``--config=NAME[:ARG]`` runs ``NAME.py`` of this folder.

Installed, this folder is the package ``jaxssl.configs`` (setup.py maps it
there); in a checkout it stays ``configs/``, where ``--config=PATH.py``
finds the same files. A config that starts from another loads it from its
own folder (``os.path.dirname(__file__)``), so both places work.
"""
