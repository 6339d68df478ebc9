"""Training: the VAE's loop (:mod:`~facegen.train.vae`) and the GAN's (:mod:`~facegen.train.gan`),
and what they share: the epoch loop, batches and checks (:mod:`~facegen.train.loop`), the
augmentations (:mod:`~facegen.train.augment`), the VAE's loss (:mod:`~facegen.train.losses`),
the schedules (:mod:`~facegen.train.schedules`), the generator's weight average
(:mod:`~facegen.train.average`), DVCLive's log (:mod:`~facegen.train.log`) and the resume state
(:mod:`~facegen.train.resume`). :func:`train_model` is what a training stage runs.

Training imports neither judging nor rendering."""

from __future__ import annotations

import os

from facegen.config import Params
from facegen.io import Faces
from facegen.models import GAN, VAE, ModelDir
from facegen.runtime import make_runtime
from facegen.train.gan import train_gan
from facegen.train.log import TrainingLog
from facegen.train.loop import check_batches
from facegen.train.resume import Resume, code_digest, fingerprint, tensor_digest
from facegen.train.vae import prior_components, train_vae

KINDS = ("vae", "gan")


def train_model(
    kind: str, faces: Faces, params: Params, out: ModelDir, resume_dir: str | os.PathLike
) -> VAE | GAN:
    """Train ``kind`` ("vae" or "gan") as its params section says, into ``out``: a snapshot
    every ``snapshot_every`` epochs, DVCLive's log, then the final checkpoint. Killed, it
    resumes from the state in ``resume_dir`` on the next run, if params, faces and code are
    unchanged; the folder is removed once the model is saved."""
    config = getattr(params, kind)
    check_batches(len(faces.train), config.batch_size, kind)  # before any output is written
    if kind == "vae":
        prior_components(config, len(faces.train))
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
