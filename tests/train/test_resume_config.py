"""Which config changes a resumed run refuses, which it lets through, and what it records."""

import pytest

from jaxssl.train import config as config_lib
from tests.train.conftest import load_config


def _saved(config):
    """What a run's checkpoint holds: its recorded config, as JSON gives it back."""
    return config_lib.method_config(config).to_dict()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("batch_size", 32),
        ("method", "vicreg"),
        ("train_split", "test"),
        ("seed", 1),
        ("optim.clip_norm", 1.0),
        ("encoder", "resnet18"),
        ("num_steps", 40),
    ],
)
def test_a_change_of_what_is_trained_is_refused_by_name(key, value):
    config = load_config("tiny")
    saved = _saved(config)
    section, _, name = key.rpartition(".")
    before = (config[section] if section else config)[name]
    (config[section] if section else config)[name] = value
    with pytest.raises(ValueError) as error:
        config_lib.check_resume(saved, config, "W (step 8)")
    message = str(error.value)
    assert "the run in W (step 8) was trained with" in message
    assert f"{key}: {before!r} in the run, {value!r} now" in message
    assert message.endswith(f"--config.resume_override={key}")


def test_where_and_how_it_goes_on_is_free():
    config = load_config("tiny")
    saved = _saved(config)
    config.stop_at_step, config.num_devices, config.parallel = 30, 1, "pmap"
    config.eval.knn_every_steps, config.eval_split = 5, "train"
    config.checkpoint.every_steps, config.log_every_steps = 3, 7
    config.data_dir, config.skip_nonfinite_steps = "/elsewhere", True
    assert config_lib.check_resume(saved, config, "W") == {}


def test_named_changes_go_on_and_are_returned_a_section_covers_its_keys():
    config = load_config("tiny")
    saved = _saved(config)
    config.optim.base_lr, config.optim.name, config.num_steps = 5e-3, "adamw", 40
    config.resume_override = "optim, num_steps"
    assert config_lib.check_resume(saved, config, "W") == {
        "num_steps": (16, 40),
        "optim.base_lr": (1e-2, 5e-3),
        "optim.name": ("sgd", "adamw"),
    }
    config.batch_size = 32  # not named: refused, and only it is listed
    with pytest.raises(ValueError, match=r"batch_size: 64 in the run, 32 now\n") as error:
        config_lib.check_resume(saved, config, "W")
    assert "optim" not in str(error.value)


def test_a_key_saved_by_an_older_version_is_not_compared_and_a_bad_override_is_named():
    config = load_config("tiny")
    saved = _saved(config)
    del saved["resume_override"], saved["skip_nonfinite_steps"]
    assert config_lib.check_resume(saved, config, "W") == {}
    config.resume_override = "optim.base_lrr"
    with pytest.raises(ValueError, match=r"resume_override names 'optim.base_lrr'"):
        config_lib.validate(config)
