"""Frozen dataclasses mirroring ``params.yaml``, one per section; unknown keys are an error.

Each field carries its own check (``setting(default, rule)``), so what a key allows is
written next to it; :func:`parse_params` applies them and names the key when one fails."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from facegen import FacegenError

Rule = tuple[Callable[[Any], bool], str]  # (predicate, what is allowed)

AT_LEAST_1: Rule = (lambda v: v >= 1, "an integer >= 1")
POSITIVE: Rule = (lambda v: v > 0, "a number > 0")
WEIGHT: Rule = (lambda v: v >= 0, "a number >= 0 (0 switches it off)")
BETAS: Rule = (lambda v: all(0 <= b < 1 for b in v), "two numbers in [0, 1)")
DEVICE: Rule = (
    lambda v: v in ("auto", "cpu", "cuda", "mps") or v.startswith("cuda:"),
    "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'",
)


def one_of(*choices: Any) -> Rule:
    names = [repr(c) for c in choices]
    allowed = " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
    return (lambda v: v in choices, allowed)


def setting(default: Any, rule: Rule | None = None) -> Any:
    """A dataclass field with its default and the rule its value must satisfy."""
    return field(default=default, metadata={"rule": rule} if rule else {})


# constant, or cosine: falling from lr to 0 over the run, step by step (Loshchilov and
# Hutter 2017), so the last weights are not one noisy step of many
LR_SCHEDULE: Rule = one_of("constant", "cosine")
SHIFT: Rule = (lambda v: 0 <= v <= 16, "an integer from 0 to 16 (0 switches it off)")


@dataclass(frozen=True)
class DataConfig:
    mat_path: str = "data/raw/orl_faces.mat"
    key: str | None = None  # variable holding the images; None: detect
    layout: str | None = setting(None, one_of("HWCN", "HWN", "NHW", "NCHW", "NHWC", "FLAT_COLS", "FLAT_ROWS"))
    grayscale: str = setting("refuse", one_of("refuse", "convert"))  # convert: ITU-R BT.601 luma


FRACTION: Rule = (lambda v: 0 < v < 1, "a number strictly between 0 and 1")


@dataclass(frozen=True)
class PrepareConfig:
    # random: any images; subjects: whole people (runs of group_size images in file order);
    # blocks: two contiguous runs at the end of the file (video frames stay together)
    split: str = setting("subjects", one_of("random", "subjects", "blocks"))
    group_size: int = setting(10, AT_LEAST_1)  # images per person, for split: subjects
    val_fraction: float = setting(0.1, FRACTION)  # held out to choose settings on
    test_fraction: float = setting(0.1, FRACTION)  # held out to report on
    seed: int = 0

    def check(self, section: str) -> None:
        if self.val_fraction + self.test_fraction >= 1:
            raise FacegenError(
                f"params: {section}.val_fraction + {section}.test_fraction = "
                f"{self.val_fraction + self.test_fraction:g} leaves no training images; expected less than 1."
            )


@dataclass(frozen=True)
class ModelTrainingConfig:
    """What the VAE and GAN sections share."""

    epochs: int = setting(60, AT_LEAST_1)
    batch_size: int = setting(16, (lambda v: v >= 2, "an integer >= 2 (batch norm needs 2)"))
    lr: float = setting(1e-3, POSITIVE)
    lr_schedule: str = setting("constant", LR_SCHEDULE)
    betas: tuple[float, float] = setting((0.9, 0.999), BETAS)
    latent_dim: int = setting(64, AT_LEAST_1)
    seed: int = 0
    device: str = setting("auto", DEVICE)
    snapshot_every: int = setting(2, AT_LEAST_1)  # epochs between snapshots (and the last epoch)
    hflip: bool = False  # mirror half of each training batch left to right
    shift: int = setting(0, SHIFT)  # move each training face by up to this many pixels
    # lab: the lab's models, fixed by its module dump; dcgan: a stronger DCGAN-family pair
    # (facegen.models: the same names, without importing torch here)
    architecture: str = setting("lab", one_of("lab", "dcgan"))

    def check(self, section: str) -> None:
        """Rules that tie two keys of the section together."""
        if self.snapshot_every > self.epochs:
            raise FacegenError(
                f"params: {section}.snapshot_every = {self.snapshot_every} is larger than {section}.epochs = "
                f"{self.epochs}; expected at most {self.epochs}."
            )

    def _dcgan_only(self, section: str, *keys: str) -> None:
        """Refuse a setting of the dcgan networks on the lab's, which its module dump fixes."""
        for key in keys:
            if getattr(self, key) and self.architecture != "dcgan":
                raise FacegenError(
                    f"params: {section}.{key} changes the dcgan networks; the lab's are fixed by its "
                    f"module dump. Set {section}.architecture: dcgan, or switch {key} off."
                )


@dataclass(frozen=True)
class VAEConfig(ModelTrainingConfig):
    kl_weight: float = setting(1.0, (lambda v: v >= 0, "a number >= 0"))
    # fixed: loss = ||x - x_hat||^2 + kl_weight * KL (the lab's; a Gaussian likelihood of
    # variance 1/2 per pixel); calibrated: one shared variance, fitted (sigma-VAE, Rybkin et al. 2021)
    pixel_variance: str = setting("calibrated", one_of("fixed", "calibrated"))
    # where samples come from: N(0, I), or a Gaussian or a Gaussian mixture (of
    # prior_components) fitted to the training faces' codes
    prior: str = setting("fitted", one_of("standard", "fitted", "mixture"))
    prior_components: int | None = setting(None, AT_LEAST_1)  # of prior: mixture, and only then
    # dcgan only: an adversarial term on the reconstructions (VAE-GAN), its gradient on them
    # this many times the ELBO's (facegen.train.vae_critic); 0: off
    adversarial: float = setting(0.0, WEIGHT)
    hflip: bool = True
    lr_schedule: str = setting("cosine", LR_SCHEDULE)
    shift: int = setting(2, SHIFT)

    def check(self, section: str) -> None:
        super().check(section)
        if (self.prior == "mixture") != (self.prior_components is not None):
            raise FacegenError(
                f"params: {section}.prior_components (the mixture's Gaussians) is set with "
                f"{section}.prior: mixture and only then; {section}.prior is {self.prior!r} and "
                f"{section}.prior_components is {self.prior_components!r}."
            )
        self._dcgan_only(section, "adversarial")


@dataclass(frozen=True)
class GANConfig(ModelTrainingConfig):
    epochs: int = setting(120, AT_LEAST_1)
    lr: float = setting(4e-4, POSITIVE)
    betas: tuple[float, float] = setting((0.5, 0.999), BETAS)  # DCGAN's
    # target for D(x); below 1 is one-sided label smoothing
    real_label: float = setting(0.9, (lambda v: 0.5 < v <= 1, "a number in (0.5, 1]"))
    # the largest decay of an exponential moving average of the generator's weights, whose
    # decay ramps up as (1 + t) / (10 + t) after t steps (facegen.train.average); 1: the ramp
    # alone, 0: no average
    ema: float = setting(
        1.0, (lambda v: 0 <= v <= 1, "a number in [0, 1] (1: the ramp alone, 0: no average)")
    )
    diffaugment: bool = False  # translation and cutout of real and fake before D (Zhao et al. 2020)
    # dcgan only: weight of FastGAN's self-supervised reconstruction of real faces from the
    # discriminator's 8 x 8 features (mean squared error); 0: no head
    recon_head: float = setting(0.0, WEIGHT)
    snapshot_every: int = setting(4, AT_LEAST_1)  # longer training than the VAE: fewer snapshots

    def check(self, section: str) -> None:
        super().check(section)
        self._dcgan_only(section, "recon_head")


@dataclass(frozen=True)
class TrainConfig:
    """How both training stages compute (nothing here changes what is learned beyond float rounding)."""

    # auto: bf16 on a GPU that has it, else fp32. Changes nothing but float rounding.
    precision: str = setting("auto", one_of("auto", "fp32", "bf16"))
    channels_last: bool = True  # NHWC tensors: faster convolutions on CPU and GPU


@dataclass(frozen=True)
class RenderConfig:
    steps: int = setting(10, (lambda v: v >= 2, "an integer >= 2"))  # images per interpolation walk
    rows: int = setting(8, AT_LEAST_1)  # interpolation walks per grid
    samples: int = setting(64, AT_LEAST_1)  # images in the fixed-z sample grid
    mode: str = setting("slerp", one_of("lerp", "slerp"))
    seed: int = 0  # seed of the fixed z batch and of the chosen validation faces
    fps: int = setting(8, AT_LEAST_1)  # GIF frame rate


@dataclass(frozen=True)
class EvaluateConfig:
    # a spread needs two; each draw's seeds come from evaluate.seed * 1000 + draw + 0, 100 or 200
    draws: int = setting(8, (lambda v: 2 <= v <= 100, "an integer from 2 to 100"))
    max_images: int = setting(500, AT_LEAST_1)  # cap on each half of the real pool and on held-out faces
    pca_dims: int = setting(64, AT_LEAST_1)  # precision/recall feature space: PCA of training faces
    k: int = setting(3, AT_LEAST_1)  # neighbours of the k-NN manifolds (Kynkäänniemi et al. 2019)
    seed: int = 0


@dataclass(frozen=True)
class Params:
    data: DataConfig = field(default_factory=DataConfig)
    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    gan: GANConfig = field(default_factory=GANConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """Check ``value`` against a type hint, converting where YAML is loose (1e-3 is a string
    in YAML 1.1, ints are fine where floats are expected, lists where tuples are)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        hint = next(o for o in options if o is not type(None))
        origin = typing.get_origin(hint)
    if origin is tuple:
        items = typing.get_args(hint)
        if not isinstance(value, list | tuple) or len(value) != len(items):
            raise FacegenError(f"params: {name} must be a list of {len(items)} numbers, got {value!r}.")
        return tuple(_coerce(v, t, name) for v, t in zip(value, items, strict=True))
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float and not isinstance(value, bool):
        with contextlib.suppress(TypeError, ValueError):  # 1e-3 is a string in YAML 1.1
            return float(value)
    elif hint is str and isinstance(value, str):
        return value
    kind = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[hint]
    raise FacegenError(f"params: {name} must be {kind}, got {value!r}.")


def _build(cls: type, values: Any, prefix: str) -> Any:
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise FacegenError(f"params: {prefix} must be a mapping of keys to values, got {values!r}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise FacegenError(f"params: unknown key {prefix}.{unknown[0]}; {prefix} takes {', '.join(fields)}.")
    kwargs = {}
    for name in values:  # every one a field: unknown keys were refused
        key = f"{prefix}.{name}"
        value = _coerce(values[name], hints[name], key)
        rule = fields[name].metadata.get("rule")
        if rule is not None and value is not None and not rule[0](value):
            raise FacegenError(f"params: {key} = {values[name]!r} is not allowed; expected {rule[1]}.")
        kwargs[name] = value
    config = cls(**kwargs)
    if hasattr(config, "check"):
        config.check(prefix)
    return config


def parse_params(raw: dict[str, Any]) -> Params:
    """Validate a params mapping (as read from YAML) into :class:`Params`."""
    if not isinstance(raw, dict):
        raise FacegenError("params: the file must hold a mapping of sections (data, vae, ...).")
    hints = typing.get_type_hints(Params)
    unknown = sorted(set(raw) - set(hints))
    if unknown:
        raise FacegenError(f"params: unknown section {unknown[0]!r}; sections are {', '.join(hints)}.")
    return Params(**{name: _build(hints[name], raw.get(name), name) for name in hints})


def load_params(path: str | os.PathLike = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise FacegenError(f"{path}: parameter file not found.")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise FacegenError(f"{path}: not valid YAML ({exc}).") from None
    return parse_params(raw or {})
