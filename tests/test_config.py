import pytest

from facegen import FacegenError
from facegen.config import Params, load_params, parse_params

from conftest import ROOT


def test_the_repository_params_file_is_valid_and_complete():
    params = load_params(ROOT / "params.yaml")
    assert params.data.mat_path == "data/raw/orl_faces.mat"
    assert params.vae.snapshot_every == 2  # as in the lab (the GAN trains longer: every 4)
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
        (
            {"gan": {"lr_schedule": "step"}},
            "gan.lr_schedule = 'step' is not allowed; expected 'constant' or 'cosine'",
        ),
        (
            {"gan": {"snapshot_every": 5, "epochs": 4}},
            "gan.snapshot_every = 5 is larger than gan.epochs = 4",
        ),
        ({"data": {"image_size": 32}}, "unknown key data.image_size"),
        ({"train": {"precision": "fp16"}}, "expected one of 'auto', 'fp32', 'bf16'"),
        ({"vae": {"shift": 17}}, "vae.shift = 17 is not allowed; expected an integer from 0 to 16"),
        ({"gan": {"real_label": 0.5}}, r"gan.real_label = 0.5 is not allowed; expected a number in (0.5, 1]"),
    ],
)
def test_bad_params_name_the_key_and_what_is_allowed(raw, message):
    with pytest.raises(FacegenError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_params(raw)


def test_the_model_sections_share_their_common_fields_and_checks():
    assert Params().vae.lr == 1e-3 and Params().gan.lr == 4e-4  # defaults differ per model
    for section in ("vae", "gan"):
        with pytest.raises(FacegenError, match=f"{section}.batch_size = 1 is not allowed"):
            parse_params({section: {"batch_size": 1}})


def test_the_dataclass_defaults_mirror_params_yaml():
    assert load_params(ROOT / "params.yaml") == Params()
