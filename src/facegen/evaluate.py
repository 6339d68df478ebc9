"""Judging the generators with numbers, next to two baselines computed on the same faces.

Which faces each number uses:

- The **real pool** is the training faces, the distribution the models were asked to learn
  (all of them: the larger the pool, the less a comparison depends on which faces it drew).
  Every draw splits it at random into two disjoint halves A and B of ``n`` faces. Sample
  quality compares ``n`` fresh generated faces with half A; the *real vs real* floor compares
  half B with half A; the *PCA Gaussian* bar compares ``n`` faces sampled from a Gaussian over
  the pool's first principal components ("eigenfaces") with half A.
- **Memorisation** compares the distance from generated faces to their nearest training face
  with the same for held-out faces: people the models never saw with ``prepare.split:
  subjects``. The VAE's reconstruction error is measured on held-out faces too.
- Held-out faces come in two parts: numbers that settings, epochs or snapshots may be chosen
  by use the **validation** faces (the per-epoch curves, and every ``val_*`` key); the
  reported numbers use the **test** faces, which nothing is chosen by.

Metrics: sliced Wasserstein distance over a Laplacian pyramid (SWD, x1000), improved
precision and recall in PCA space, a classifier two-sample test (c2st: held-out accuracy of
a classifier telling generated from real faces, 0.5 = indistinguishable), mean brightness
and contrast (pixel standard deviation) of the faces, the memorisation ratio, and the VAE's
reconstruction error, KL and ELBO; and two judges trained by others on photographs, which
see whether a face holds together (:mod:`facegen.likeness`): the share of faces dlib's face
detector finds (``face_rate``) and the identity memorisation ratio (``identity_ratio``).
The last snapshot of each model is scored over ``evaluate.draws`` draws (mean and ``_sd``);
the per-epoch curves use one draw.
"""

from __future__ import annotations

import io
import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from facegen import IMAGE_SIZE
from facegen.checkpoints import ModelDir, load_checkpoint
from facegen.config import EvaluateConfig
from facegen.data import Faces, to_float
from facegen.faces import FaceJudges, Pending
from facegen.likeness import FACES_PER_DRAW, IDENTITY_FACES, Likeness
from facegen.losses import heldout_vae_loss
from facegen.metrics import rounded
from facegen.models import GAN, VAE
from facegen.quality import (
    PCA,
    SlicedWasserstein,
    c2st_features,
    classifier_two_sample_test,
    nearest_distance,
    precision_recall,
)
from facegen.render import fixed_latents, grid, walks
from facegen.runtime import CPU

log = logging.getLogger(__name__)

Row = dict[str, float]
Sampler = Callable[[int, int], torch.Tensor]  # (count, draw) -> images in [0, 1]
FACE_SHAPE = (1, IMAGE_SIZE, IMAGE_SIZE)
SWD_PATCHES = 64  # 7x7 neighbourhoods per image and pyramid level
SWD_DIRECTIONS = 512  # random directions per draw
PCA_FACES = 8192  # at most this many pool faces fit the PCA
SNAPSHOT_FACES = 32  # faces of each snapshot the face detector judges (7 ms each)
HELDOUT_BATCH = 256  # batch of the VAE's held-out loss (eval mode: any size gives the same)
# The comparison figure: 16 fixed codes through both models (2 rows of 8), and 3 walks of
# 8 steps between fixed codes (slerp: Gaussian codes keep a typical norm along the path).
COMPARE_SAMPLES, COMPARE_WALKS, COMPARE_STEPS, COMPARE_COLUMNS = 16, 3, 8, 8


class Judge:
    """Everything that stays fixed across models, epochs and draws: the real pool and its
    PCA space, the held-out faces and their distance to the pool."""

    def __init__(self, faces: Faces, config: EvaluateConfig) -> None:
        self.config = config
        self.pool = faces.train  # uint8: 50 000 CK faces are 200 MB, not 800 as floats
        self.n = min(len(self.pool) // 2, config.max_images)
        generator = torch.Generator().manual_seed(config.seed)
        # Up to max_images held-out faces, and the PCA fitted on up to PCA_FACES pool faces
        # (64 components are well estimated from thousands of faces; a 4096 x 4096 fit on all
        # 50 000 would cost more than everything else here).
        self.heldout = {
            part: to_float(_at_most(images, config.max_images, generator))
            for part, images in (("val", faces.val), ("test", faces.test))
        }
        self.pca = PCA.fit(to_float(_at_most(self.pool, PCA_FACES, generator)), config.pca_dims)
        self.heldout_distance = {
            part: nearest_distance(images, self.pool).median().item() for part, images in self.heldout.items()
        }
        self._features: dict[int, torch.Tensor] = {}  # c2st features of pool faces, as needed
        # Half A of one draw, prepared once for SWD (its neighbourhoods and sorted projections:
        # 63 MB at n = 160, 200 MB at n = 500) and projected on the PCA; the snapshots and the
        # final sets reuse it.
        self._reference: tuple[int, SlicedWasserstein, torch.Tensor] | None = None

    def pool_faces(self, index: torch.Tensor) -> torch.Tensor:
        return to_float(self.pool[index])

    def pool_features(self, index: torch.Tensor) -> torch.Tensor:
        """Two-sample-test features of the pool faces ``index``, each computed once."""
        todo = [i for i in index.tolist() if i not in self._features]
        if todo:
            computed = c2st_features(self.pool_faces(torch.tensor(todo)))
            self._features |= dict(zip(todo, computed, strict=True))
        return torch.stack([self._features[i] for i in index.tolist()])

    def brightness_contrast(self) -> tuple[float, float]:
        """Mean and standard deviation of the pool's pixels (in chunks)."""
        total, squares, count = 0.0, 0.0, 0
        for part in self.pool.split(4096):
            x = to_float(part).double()
            total, squares, count = (
                total + x.sum().item(),
                squares + x.square().sum().item(),
                count + x.numel(),
            )
        mean = total / count
        return mean, ((squares - count * mean**2) / (count - 1)) ** 0.5

    def halves(self, draw: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices of two disjoint random halves (A, B) of the pool, ``n`` faces each."""
        generator = torch.Generator().manual_seed(self.config.seed * 1000 + draw)
        order = torch.randperm(len(self.pool), generator=generator)
        return order[: self.n], order[self.n : 2 * self.n]

    def reference(self, draw: int) -> tuple[SlicedWasserstein, torch.Tensor]:
        """Half A of ``draw``, prepared once while that draw is being scored: the SWD against
        it, and its PCA features (the real manifold of precision and recall)."""
        if self._reference is None or self._reference[0] != draw:
            self._reference = None  # free the previous draw's first
            faces = self.pool_faces(self.halves(draw)[0])
            swd = SlicedWasserstein(
                faces, self.n, seed=draw, patches_per_image=SWD_PATCHES, directions=SWD_DIRECTIONS, repeats=1
            )
            self._reference = (draw, swd, self.pca.project(faces))
        return self._reference[1], self._reference[2]

    def compare(self, images: torch.Tensor, draw: int, memorisation: bool = True) -> Row:
        """``n`` images against half A of this draw's split of the pool."""
        swd_to_reference, reference_features = self.reference(draw)
        swd = swd_to_reference(images)
        precision, recall = precision_recall(reference_features, self.pca.project(images), k=self.config.k)
        row = {"swd": sum(swd) / len(swd)} | {f"swd_{IMAGE_SIZE >> i}": v for i, v in enumerate(swd)}
        row |= {"precision": precision, "recall": recall}
        row |= {"brightness": images.mean().item(), "contrast": images.std().item()}
        if memorisation:  # the median distance to the nearest training face, over held-out faces'
            distance = nearest_distance(images, self.pool).median().item()
            row["nn_train_distance"] = distance
            row["memorisation_ratio"] = distance / self.heldout_distance["test"]
            row["val_memorisation_ratio"] = distance / self.heldout_distance["val"]
        return row

    def real_faces(self, count: int, draw: int) -> torch.Tensor:
        """The floor's "generated" faces: half B of the draw (``count`` is ``n``)."""
        return self.pool_faces(self.halves(draw)[1][:count])

    def pca_faces(self, count: int, draw: int) -> torch.Tensor:
        return self.pca.sample(count, FACE_SHAPE, self.config.seed * 1000 + draw)


def _at_most(images: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``images``, or a random ``count`` of them if there are more."""
    if len(images) <= count:
        return images
    return images[torch.randperm(len(images), generator=generator)[:count]]


def model_sampler(model: VAE | GAN, seed: int) -> Sampler:
    """Fresh standard-normal codes for every draw, through ``model.generate``."""

    @torch.no_grad()
    def sample(count: int, draw: int) -> torch.Tensor:
        z = fixed_latents(count, model.latent_dim, seed * 1000 + 100 + draw)
        return model.generate(z).clamp(0, 1)

    return sample


def vae_likelihood(model: VAE, images: torch.Tensor, seed: int) -> Row:
    """Held-out reconstruction error, KL and ELBO per image, at kl_weight 1 (fixed decoder)."""
    terms = heldout_vae_loss(model, images, 1.0, HELDOUT_BATCH, CPU, seed)
    return {"recon_loss": terms["recon_loss"], "kl_loss": terms["kl_loss"], "elbo": -terms["loss"]}


def summarise(rows: list[Row]) -> Row:
    """Mean of every key over draws, with its standard deviation as ``<key>_sd``."""
    out = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        out[key] = statistics.fmean(values)
        out[f"{key}_sd"] = statistics.stdev(values)
    return out


@dataclass(frozen=True)
class FaceSet:
    """A set of faces scored over draws: how to draw it, whether to measure memorisation, and
    what the face judges do with it: ``identity`` (detect all, embed some), ``detect``, or
    ``pool`` (real training faces: their judgments are on record)."""

    sample: Sampler
    memorisation: bool = True
    judged: str = "identity"


def score_draws(
    judge: Judge, sets: dict[str, FaceSet], likeness: Likeness
) -> dict[str, tuple[list[Row], list[torch.Tensor]]]:
    """Per set: every draw's row and its feature set for the two-sample test. Draw by draw, so
    each draw's SWD reference is prepared once for all sets (each set is seeded by the draw:
    the order is free). The face judges work on each draw's faces while the next is scored;
    their verdicts join the rows at the end."""
    scored: dict[str, tuple[list[Row], list[torch.Tensor]]] = {name: ([], []) for name in sets}
    verdicts: list[tuple[Row, dict[str, Pending]]] = []
    for draw in range(judge.config.draws):
        for name, face_set in sets.items():
            images = face_set.sample(judge.n, draw)
            row = judge.compare(images, draw, face_set.memorisation)
            if face_set.judged == "pool":
                row["face_rate"] = likeness.pool_face_rate(judge.halves(draw)[1])
            else:
                verdicts.append((row, likeness.submit(images, identity=face_set.judged == "identity")))
            scored[name][0].append(row)
            scored[name][1].append(c2st_features(images))
    for row, pending in verdicts:
        row |= likeness.resolve(pending)
    return scored


def evaluate_snapshots(
    model_dir: ModelDir,
    judge: Judge,
    faces: Faces,
    name: str,
    progress: Callable[[str], None],
    likeness: Likeness,
) -> tuple[list[Row], list[Pending], VAE | GAN]:
    """One row per snapshot epoch (one draw; held-out numbers on the validation faces), and
    the detector's verdicts on the first :data:`SNAPSHOT_FACES` faces of each, to come."""
    rows, verdicts, model = [], [], None
    for epoch, path in model_dir.snapshots():
        model = CPU.place(load_checkpoint(path))
        images = model_sampler(model, judge.config.seed)(judge.n, 0)
        verdicts.append(likeness.submit(images[:SNAPSHOT_FACES], identity=False))
        row = {"epoch": epoch} | judge.compare(images, 0)
        row.pop("memorisation_ratio")  # test faces: reported once, not per epoch
        row["memorisation_ratio"] = row.pop("val_memorisation_ratio")
        if isinstance(model, VAE):  # the VAE alone has a likelihood
            row |= vae_likelihood(model, faces.val, judge.config.seed)
        rows.append(rounded(row, 4))
        progress(
            f"{name} epoch {epoch}: swd {row['swd']:.1f}, precision {row['precision']:.2f}, recall {row['recall']:.2f}"
        )
    if model is None:
        raise FileNotFoundError(f"{model_dir.snapshots_path}: no snapshots")
    return rows, verdicts, model


def evaluate_all(
    vae_dir: ModelDir,
    gan_dir: ModelDir,
    faces: Faces,
    config: EvaluateConfig,
    real_faces: dict[str, Any],
    progress: Callable[[str], None] = log.info,
) -> tuple[dict[str, Any], list[Row], list[Row], bytes]:
    """(summary for metrics/evaluate.json, per-epoch VAE rows, GAN rows, comparison PNG);
    ``real_faces``: the face judges' record of the real faces (:func:`likeness.judge_real`)."""
    with FaceJudges() as judges:
        likeness = Likeness(real_faces, judges)
        return _evaluate_all(vae_dir, gan_dir, faces, config, progress, likeness)


def _evaluate_all(
    vae_dir: ModelDir,
    gan_dir: ModelDir,
    faces: Faces,
    config: EvaluateConfig,
    progress: Callable[[str], None],
    likeness: Likeness,
) -> tuple[dict[str, Any], list[Row], list[Row], bytes]:
    judge = Judge(faces, config)
    progress(
        f"real pool: {len(judge.pool)} training faces, halves of {judge.n}; held out: "
        f"{len(judge.heldout['val'])} validation, {len(judge.heldout['test'])} test faces; {config.draws} draws"
    )
    vae_rows, vae_verdicts, vae = evaluate_snapshots(vae_dir, judge, faces, "VAE", progress, likeness)
    gan_rows, gan_verdicts, gan = evaluate_snapshots(gan_dir, judge, faces, "GAN", progress, likeness)

    sets = {
        "vae": FaceSet(model_sampler(vae, config.seed)),
        "gan": FaceSet(model_sampler(gan, config.seed)),
        "real_vs_real": FaceSet(judge.real_faces, memorisation=False, judged="pool"),
        "pca_gaussian": FaceSet(judge.pca_faces, judged="detect"),
    }
    draws, pairs = {}, []
    for name, (rows, features) in score_draws(judge, sets, likeness).items():
        draws[name] = rows
        pairs += [(judge.pool_features(judge.halves(d)[0]), f) for d, f in enumerate(features)]
    accuracy = classifier_two_sample_test(pairs).view(len(sets), -1)  # (sets, draws x 2 folds)
    for rows, verdicts in ((vae_rows, vae_verdicts), (gan_rows, gan_verdicts)):
        for row, pending in zip(rows, verdicts, strict=True):
            row |= rounded(likeness.resolve(pending), 4)
    summary: dict[str, Any] = {}
    for (name, rows), accuracies in zip(draws.items(), accuracy, strict=True):
        row = summarise(rows) | {"c2st": accuracies.mean().item(), "c2st_sd": accuracies.std().item()}
        if name == "real_vs_real":  # held-out faces are as far from training faces as they are
            row |= {"memorisation_ratio": 1.0, "memorisation_ratio_sd": 0.0}
            row |= {"identity_ratio": 1.0, "identity_ratio_sd": 0.0}
        summary[name] = rounded(row, 4)
    for name, rows in (("vae", vae_rows), ("gan", gan_rows)):
        summary[name] = {"epoch": rows[-1]["epoch"]} | summary[name]
    summary["vae"] |= rounded(vae_likelihood(vae, faces.test, config.seed), 4)
    val = vae_likelihood(vae, faces.val, config.seed)
    summary["vae"] |= rounded({f"val_{k}": v for k, v in val.items()}, 4)
    result = {
        "vae": summary["vae"],
        "gan": summary["gan"],
        "baselines": {"real_vs_real": summary["real_vs_real"], "pca_gaussian": summary["pca_gaussian"]},
        "real": rounded(
            dict(zip(("brightness", "contrast"), judge.brightness_contrast(), strict=True)) | likeness.real, 4
        ),
        "settings": {
            "real_pool": len(judge.pool),
            "real_images": judge.n,
            "generated_images": judge.n,
            "validation_faces": len(faces.val),
            "test_faces": len(faces.test),
            "draws": config.draws,
            "pca_dims": len(judge.pca.scales),
            "k": config.k,
            "seed": config.seed,
            "detected_faces": FACES_PER_DRAW,
            "identity_faces": IDENTITY_FACES,
            "snapshot_faces": SNAPSHOT_FACES,
        },
    }
    for name in ("VAE", "GAN"):
        row = result[name.lower()]
        progress(
            f"{name}: {row['face_rate']:.2f} ± {row['face_rate_sd']:.2f} of its faces found by the face detector "
            f"(held-out people {result['real']['heldout_face_rate']:.2f}); identity ratio {row['identity_ratio']:.2f}"
        )
    real = judge.pool_faces(judge.halves(0)[0][:COMPARE_SAMPLES])
    figure = comparison_figure(real, vae, gan, vae_rows, gan_rows, result, config.seed)
    return result, vae_rows, gan_rows, figure


@torch.no_grad()
def comparison_figure(
    real: torch.Tensor,
    vae: VAE,
    gan: GAN,
    vae_rows: list[Row],
    gan_rows: list[Row],
    result: dict[str, Any],
    seed: int,
) -> bytes:
    """Real training faces next to the same fixed z through both models, both interpolation
    walks, and the SWD and face-detection curves with the baselines' mean and spread."""
    z = fixed_latents(COMPARE_SAMPLES, vae.latent_dim, seed)
    ends = fixed_latents(2 * COMPARE_WALKS, vae.latent_dim, seed + 1)
    codes = walks(ends[0::2], ends[1::2], COMPARE_STEPS, "slerp")
    top = {
        "real training faces": grid(real, COMPARE_COLUMNS),
        "VAE: generate(z)": grid(vae.generate(z).clamp(0, 1), COMPARE_COLUMNS),
        "GAN: generate(z), the same z": grid(gan.generate(z), COMPARE_COLUMNS),
    }
    # The VAE walks in its own code space, straight between two samples of its prior (a
    # mixture prior's component would jump along a walk in z); the GAN between the codes.
    vae_ends = vae.prior_codes(ends)
    vae_codes = walks(vae_ends[0::2], vae_ends[1::2], COMPARE_STEPS, "lerp")
    middle = {
        "VAE: walk between two samples of its prior": grid(vae.decoder(vae_codes).clamp(0, 1), COMPARE_STEPS),
        "GAN: walk between the same codes": grid(gan.generate(codes), COMPARE_STEPS),
    }
    figure = plt.figure(figsize=(15, 10))
    # 6 columns: three sample grids of 2 each, two walks of 3 each, two curves of 3 each;
    # heights follow the tiles.
    spec = figure.add_gridspec(3, 6, height_ratios=[2, 3, 3.5])
    for row, pictures in enumerate((top, middle)):
        width = 6 // len(pictures)
        for i, (title, image) in enumerate(pictures.items()):
            ax = figure.add_subplot(spec[row, i * width : (i + 1) * width])
            ax.imshow(image, cmap="gray", vmin=0, vmax=255)
            ax.set_title(title)
            ax.axis("off")
    baselines = result["baselines"]
    styles = {"real_vs_real": ("k", "real vs real (floor)"), "pca_gaussian": ("gray", "PCA Gaussian (bar)")}
    for column, (metric, label) in enumerate(
        (
            ("swd", "sliced Wasserstein distance x1000 (lower is better)"),
            ("face_rate", "share of faces found by the face detector"),
        )
    ):
        ax = figure.add_subplot(spec[2, 3 * column : 3 * column + 3])
        for name, rows in (("VAE", vae_rows), ("GAN", gan_rows)):
            ax.plot([r["epoch"] for r in rows], [r[metric] for r in rows], marker=".", label=name)
        for key, (color, name) in styles.items():
            mean, sd = baselines[key][metric], baselines[key][f"{metric}_sd"]
            ax.axhline(mean, color=color, linestyle="--", label=f"{name}, mean ± sd")
            ax.axhspan(mean - sd, mean + sd, color=color, alpha=0.15)
        if metric == "swd":
            ax.set_yscale("log")
        else:
            ax.axhline(
                result["real"]["heldout_face_rate"], color="tab:green", linestyle=":", label="held-out people"
            )
            ax.set_ylim(0, 1)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()
