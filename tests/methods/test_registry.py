"""The method registry, the capability protocols and the config sections they own."""

import json
import subprocess
import sys

import ml_collections
import pytest

from jaxssl import programs
from jaxssl.methods import protocol, registry, sections
from jaxssl.train import config as config_lib

# what each program relies on; a method the registry sends there must have it
_PROGRAM_NEEDS = {name: cls.needs for name, cls in programs.PROGRAMS.items()}


def test_importing_methods_loads_no_training_machinery():
    """jaxssl.methods sits below jaxssl.train: no cycle, no Orbax/Grain/tqdm/TensorBoard."""
    code = (
        "import sys, json, jaxssl.methods\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('orbax', 'grain', 'tqdm', 'tensorboardX', 'tensorflow_datasets') "
        "or m.startswith(('jaxssl.train', 'jaxssl.programs')))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def _built() -> dict:
    """Every method built from the default config (no compile: modules and settings only)."""
    return {name: registry.build(_config(name)) for name in registry.NAMES}


def test_every_method_has_a_program_and_the_capabilities_it_needs():
    assert set(programs.PROGRAMS) == set(registry.PROGRAMS)
    for name, method in _built().items():
        spec = registry.METHODS[name]
        assert type(method) is spec.cls, name
        assert spec.program in programs.PROGRAMS, name
        assert set(spec.sections) <= set(sections.SECTIONS), name
        for capability in (protocol.Method, *_PROGRAM_NEEDS[spec.program]):
            assert protocol.has(method, capability), (name, capability.__name__)
        # it trains by a loss the generic step differentiates, or by its own update
        assert protocol.has(method, protocol.LossFn) != protocol.has(method, protocol.OwnUpdate)


def test_capabilities_are_declared_not_guessed():
    """Each optional capability is present exactly where a method defines it."""
    by_capability = {
        protocol.PostUpdate: {"moco", "byol"},
        protocol.OwnUpdate: {"gan"},
        protocol.LossFn: set(registry.NAMES) - {"gan"},
        protocol.Logits: {"classifier", "linear_probe", "causal_lm"},
        protocol.EvalTerms: {"autoencoder", "vae", "masked_lm", "causal_lm"},
        protocol.Summarize: {"masked_lm", "causal_lm"},
        protocol.Pictures: {"autoencoder", "vae", "gan"},
        protocol.InitFromKeys: {"classifier", "linear_probe"},
    }
    built = _built()
    for capability, names in by_capability.items():
        got = {n for n, m in built.items() if protocol.has(m, capability)}
        assert got == names, capability.__name__
    featureless = {n for n, m in built.items() if not protocol.has(m, protocol.Features)}
    assert featureless == {"masked_lm", "causal_lm"}


def test_a_missing_capability_is_one_clear_error():
    class NoFeatures:
        axis_name = None

        def init(self, rng, sample):
            return {}

        def loss_fn(self, params, state, batch, rng):
            return 0.0, (state, {})

    with pytest.raises(TypeError) as error:
        protocol.require(NoFeatures(), "mine", (protocol.Features,), "the pretrain program")
    message = str(error.value)
    assert "'mine'" in message and "features" in message and "pretrain" in message
    # it has what these need: no error
    protocol.require(NoFeatures(), "mine", (protocol.Method, protocol.LossFn), "the step")


def test_default_config_is_composed_from_the_sections():
    config = config_lib.default_config()
    for name, (defaults, _) in sections.SECTIONS.items():
        assert config[name].to_dict() == defaults().to_dict(), name


def _config(method: str) -> ml_collections.ConfigDict:
    config = config_lib.default_config()
    config.method = method
    config.num_classes = 10
    if method in ("masked_lm", "causal_lm"):
        config.encoder = registry.METHODS[method].encoders[0]
    return config


def test_a_run_checks_its_own_sections_only():
    config = _config("simclr")
    config.finetune.label_fraction = 1.5  # not simclr's section: no error
    config_lib.validate(config)
    config.method = "classifier"
    with pytest.raises(ValueError, match=r"finetune\.label_fraction must be in \(0, 1\]"):
        config_lib.validate(config)
    config = _config("simclr")
    config.finetune.no_such_key = 1  # an unknown key is an error in any section
    with pytest.raises(ValueError, match=r"unknown config key\(s\): finetune\.no_such_key"):
        config_lib.validate(config)


@pytest.mark.parametrize("method", registry.NAMES)
def test_the_recorded_config_holds_the_methods_sections(method):
    recorded = config_lib.method_config(_config(method))
    own = set(registry.METHODS[method].sections)
    assert {k for k in recorded if k in sections.SECTIONS} == own
    config_lib.validate(recorded)  # a recorded config is a valid config
