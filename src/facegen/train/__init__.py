"""Training: the VAE's loop and the GAN's, on what they share (the epoch loop, the
adversarial pieces, augmentations, schedules, the weight average, DVCLive's log, the resume
state: one module each). :func:`train_model` is what a training stage runs. Training imports
neither judging nor rendering; the VAE's loss lives with its model (:mod:`facegen.models.elbo`)."""

from __future__ import annotations

import math
import os

from facegen import FacegenError
from facegen.config import GANConfig, Params, VAEConfig
from facegen.io import Faces
from facegen.models import GAN, VAE, ModelDir
from facegen.runtime import make_runtime, share_cpus
from facegen.train.average import ramp
from facegen.train.gan import train_gan
from facegen.train.log import TrainingLog
from facegen.train.resume import Resume, code_digest, fingerprint, tensor_digest
from facegen.train.vae import train_vae

KINDS = ("vae", "gan")


def check_data(kind: str, config: VAEConfig | GANConfig, faces: int) -> None:
    """Refuse in one sentence a run its faces cannot feed (fewer than a batch, or than the
    mixture's components) or a setting it would never use (a decay the ramp never reaches)."""
    if faces < config.batch_size:
        raise FacegenError(
            f"{kind}: only {faces} training images, fewer than one batch of {kind}.batch_size = "
            f"{config.batch_size}; lower the batch size or bring more images."
        )
    if isinstance(config, VAEConfig) and (config.prior_components or 0) > faces:
        raise FacegenError(
            f"{kind}: {kind}.prior_components = {config.prior_components} is more than the {faces} "
            "training faces whose codes the mixture is fitted to; lower it."
        )
    steps = config.epochs * (faces // config.batch_size)
    if isinstance(config, GANConfig) and ramp(steps - 1) < config.ema < 1:
        raise FacegenError(
            f"{kind}: {kind}.ema = {config.ema:g} would be ignored: the average's decay ramps as "
            f"(1 + t) / (10 + t) and reaches only {ramp(steps - 1):.5f} in the run's {steps} steps; "
            f"set at most {math.floor(ramp(steps - 1) * 1e4) / 1e4:g}, or 1 for the ramp alone."
        )


def train_model(
    kind: str, faces: Faces, params: Params, out: ModelDir, resume_dir: str | os.PathLike
) -> VAE | GAN:
    """Train ``kind`` ("vae" or "gan") as its params section says, into ``out``: a snapshot
    every ``snapshot_every`` epochs, DVCLive's log, then the final checkpoint (which records
    the CPU threads: :func:`~facegen.runtime.share_cpus`). Killed, it resumes from the state
    in ``resume_dir`` on the next run, if params, faces and code are unchanged; the folder
    is removed once the model is saved."""
    config = getattr(params, kind)
    check_data(kind, config, len(faces.train))  # before any output is written
    share_cpus()
    data = (faces.train, faces.val) if kind == "vae" else (faces.train,)
    key = fingerprint(params=config, train=params.train, data=tensor_digest(*data), code=code_digest())
    resume = Resume(resume_dir, key, out.snapshots_path)
    snapshot = out.snapshot_writer(kind, config)
    with TrainingLog(out.live_path, config.latent_dim, config.seed) as training_log:
        if kind == "vae":
            model, _ = train_vae(faces.train, faces.val, config, snapshot, params.train, resume, training_log)
        else:
            model, _ = train_gan(faces.train, config, snapshot, params.train, resume, training_log)
    out.save_final(kind, model, config.epochs, config, make_runtime(config.device, params.train).describe())
    resume.clear()
    return model
