import pytest

from facegen import FacegenError
from facegen.config import Params, load_params, parse_params

from conftest import ROOT


def test_the_repository_params_file_is_valid_and_complete():
    params = load_params(ROOT / "params.yaml")
    assert params.data.mat_path == "data/raw/orl_faces.mat"
    assert params.render.every == 2  # as in the lab
    # Every key is spelled out in params.yaml, so `dvc exp run -S` can change any of them.
    import yaml

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, config in vars(params).items():
        assert set(raw[section]) == set(vars(config)), section


def test_defaults_and_loose_yaml_numbers():
    params = parse_params({"vae": {"lr": "1e-3", "betas": [0.9, 0.99], "epochs": 3}})
    assert params.vae.lr == 0.001 and params.vae.betas == (0.9, 0.99)
    assert params.gan == Params().gan


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"vae": {"lr": -1}}, "vae.lr = -1 is not allowed; expected a number > 0"),
        ({"vae": {"learning_rate": 1}}, "unknown key vae.learning_rate; vae takes epochs"),
        ({"trainer": {}}, "unknown section 'trainer'"),
        ({"vae": {"epochs": "ten"}}, "vae.epochs must be an integer, got 'ten'"),
        ({"vae": {"betas": [0.9]}}, "vae.betas must be a list of 2 numbers"),
        ({"prepare": {"val_fraction": 1.0}}, "prepare.val_fraction = 1.0 is not allowed"),
        ({"render": {"mode": "cubic"}}, "render.mode = 'cubic' is not allowed; expected 'lerp' or 'slerp'"),
        ({"render": {"every": 5}, "gan": {"epochs": 4}}, "render.every = 5 is larger than gan.epochs = 4"),
    ],
)
def test_bad_params_name_the_key_and_what_is_allowed(raw, message):
    with pytest.raises(FacegenError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_params(raw)
