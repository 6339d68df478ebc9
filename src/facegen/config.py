"""Frozen dataclasses mirroring ``params.yaml``, one per section; unknown keys are an error."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from facegen import FacegenError


@dataclass(frozen=True)
class DataConfig:
    mat_path: str = "data/raw/orl_faces.mat"
    key: str | None = None  # variable holding the images; None: detect
    layout: str | None = None  # HWCN, HWN, NHW, NCHW, NHWC, FLAT_COLS, FLAT_ROWS; None: detect
    image_size: int = 64
    grayscale: str = "refuse"  # colour images: refuse | convert (ITU-R BT.601 luma)


@dataclass(frozen=True)
class PrepareConfig:
    val_fraction: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class VAEConfig:
    epochs: int = 60
    batch_size: int = 16
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    latent_dim: int = 64
    kl_weight: float = 1.0
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class GANConfig:
    epochs: int = 60
    batch_size: int = 16
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    latent_dim: int = 64
    real_label: float = 0.9  # target for D(x); below 1 is one-sided label smoothing
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class TrainConfig:
    """How both training stages run; none of it changes what is learned beyond float rounding."""

    precision: str = "auto"  # auto (bf16 on a GPU that has it, else fp32) | fp32 | bf16
    channels_last: bool = True  # NHWC tensors: faster convolutions on CPU and GPU


@dataclass(frozen=True)
class RenderConfig:
    every: int = 2  # snapshot interval in epochs (read by the training stages)
    steps: int = 10  # images per interpolation walk
    rows: int = 8  # interpolation walks per grid
    samples: int = 64  # images in the fixed-z sample grid
    mode: str = "slerp"  # lerp | slerp
    seed: int = 0  # seed of the fixed z batch and of the chosen validation faces
    fps: int = 8  # GIF frame rate


@dataclass(frozen=True)
class EvaluateConfig:
    samples: int = 256  # generated faces for the memorisation test (and the baseline)
    max_images: int = 1000  # cap on each held-out half used for SWD and precision/recall
    pca_dims: int = 64  # feature space of precision/recall: PCA of the training faces
    k: int = 3  # neighbours defining the k-NN manifolds (Kynkäänniemi et al. 2019)
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


# Rules for values whose type alone does not make them valid: (predicate, what is allowed).
_RULES: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "data.layout": (
        lambda v: v is None or v in ("HWCN", "HWN", "NHW", "NCHW", "NHWC", "FLAT_COLS", "FLAT_ROWS"),
        "null or one of HWCN, HWN, NHW, NCHW, NHWC, FLAT_COLS, FLAT_ROWS",
    ),
    "data.image_size": (lambda v: v >= 8, "an integer >= 8"),
    "data.grayscale": (lambda v: v in ("refuse", "convert"), "'refuse' or 'convert'"),
    "prepare.val_fraction": (lambda v: 0 < v < 1, "a number strictly between 0 and 1"),
    "render.mode": (lambda v: v in ("lerp", "slerp"), "'lerp' or 'slerp'"),
    "train.precision": (lambda v: v in ("auto", "fp32", "bf16"), "'auto', 'fp32' or 'bf16'"),
}
for _section in ("vae", "gan"):
    _RULES[f"{_section}.epochs"] = (lambda v: v >= 1, "an integer >= 1")
    _RULES[f"{_section}.batch_size"] = (lambda v: v >= 2, "an integer >= 2 (batch norm needs 2)")
    _RULES[f"{_section}.lr"] = (lambda v: v > 0, "a number > 0")
    _RULES[f"{_section}.betas"] = (lambda v: all(0 <= b < 1 for b in v), "two numbers in [0, 1)")
    _RULES[f"{_section}.latent_dim"] = (lambda v: v >= 1, "an integer >= 1")
    _RULES[f"{_section}.device"] = (
        lambda v: v in ("auto", "cpu", "cuda", "mps") or v.startswith("cuda:"),
        "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'",
    )
_RULES["vae.kl_weight"] = (lambda v: v >= 0, "a number >= 0")
_RULES["gan.real_label"] = (lambda v: 0.5 < v <= 1, "a number in (0.5, 1]")
for _key in ("every", "steps", "rows", "samples", "fps"):
    _RULES[f"render.{_key}"] = (lambda v: v >= 1, "an integer >= 1")
_RULES["render.steps"] = (lambda v: v >= 2, "an integer >= 2")
for _key in ("samples", "max_images", "pca_dims", "k"):
    _RULES[f"evaluate.{_key}"] = (lambda v: v >= 1, "an integer >= 1")


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
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str and isinstance(value, str):
        return value
    kind = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[hint]
    raise FacegenError(f"params: {name} must be {kind}, got {value!r}.")


def _build(cls: type, values: Any, prefix: str) -> Any:
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise FacegenError(f"params: {prefix} must be a mapping of keys to values, got {values!r}.")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise FacegenError(f"params: unknown key {prefix}.{unknown[0]}; {prefix} takes {', '.join(names)}.")
    kwargs = {}
    for name in names:
        if name not in values:
            continue
        key = f"{prefix}.{name}"
        if dataclasses.is_dataclass(hints[name]):
            kwargs[name] = _build(hints[name], values[name], key)
            continue
        value = _coerce(values[name], hints[name], key)
        rule = _RULES.get(key)
        if rule is not None and value is not None and not rule[0](value):
            raise FacegenError(f"params: {key} = {values[name]!r} is not allowed; expected {rule[1]}.")
        kwargs[name] = value
    return cls(**kwargs)


def parse_params(raw: dict[str, Any]) -> Params:
    """Validate a params mapping (as read from YAML) into :class:`Params`."""
    if not isinstance(raw, dict):
        raise FacegenError("params: the file must hold a mapping of sections (data, vae, ...).")
    hints = typing.get_type_hints(Params)
    unknown = sorted(set(raw) - set(hints))
    if unknown:
        raise FacegenError(f"params: unknown section {unknown[0]!r}; sections are {', '.join(hints)}.")
    params = Params(**{name: _build(hints[name], raw.get(name), name) for name in hints})
    for section in ("vae", "gan"):
        epochs = getattr(params, section).epochs
        if params.render.every > epochs:
            raise FacegenError(
                f"params: render.every = {params.render.every} is larger than {section}.epochs = "
                f"{epochs}; expected at most {epochs} so at least one snapshot is rendered."
            )
    return params


def load_params(path: str | os.PathLike = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise FacegenError(f"{path}: parameter file not found.")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise FacegenError(f"{path}: not valid YAML ({exc}).") from None
    return parse_params(raw or {})


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as plain JSON-able data (tuples become lists)."""
    return dataclasses.asdict(config)
