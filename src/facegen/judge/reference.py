"""The real faces every set of faces is compared with, fixed across models, epochs and draws.

- The **pool** is the training faces, the distribution the models were asked to learn (all
  of them: the larger the pool, the less a comparison depends on which faces it drew). Every
  draw splits it at random into two disjoint halves A and B of ``n`` faces: a set of ``n``
  faces is compared with half A, and half B is the real floor's set.
- The **held-out** faces (up to ``max_images`` of each part): ``val`` for numbers that
  settings, epochs or snapshots may be chosen by, ``test`` for the numbers reported.
- The **PCA space** of the pool (its first ``pca_dims`` components, "eigenfaces"): the
  feature space of precision and recall, and the PCA-Gaussian baseline's faces.
"""

from __future__ import annotations

import torch

from facegen import IMAGE_SIZE
from facegen.config import EvaluateConfig
from facegen.io import Faces, to_float
from facegen.judge.c2st import c2st_features
from facegen.judge.neighbours import PCA, nearest_distance, precision_recall
from facegen.judge.report import Row
from facegen.judge.swd import SlicedWasserstein

FACE_SHAPE = (1, IMAGE_SIZE, IMAGE_SIZE)
SWD_PATCHES = 64  # 7x7 neighbourhoods per image and pyramid level
SWD_DIRECTIONS = 512  # random directions per draw
PCA_FACES = 8192  # at most this many pool faces fit the PCA
# Seed streams: the real faces' (halves, PCA Gaussian faces, the VAE's latent noise), the
# models' samples, the bootstrap of held-out faces
REAL, SAMPLES, BOOTSTRAP = 0, 100, 200


def draw_seed(seed: int, draw: int, stream: int = REAL) -> int:
    """The one rule of every draw's randomness: evaluate.seed * 1000 + stream + draw (< 100)."""
    return seed * 1000 + stream + draw


def at_most(images: torch.Tensor, count: int, rng: torch.Generator) -> torch.Tensor:
    """``images``, or a random ``count`` of them if there are more."""
    if len(images) <= count:
        return images
    return images[torch.randperm(len(images), generator=rng)[:count]]


class Reference:
    """The pool, its halves and PCA space, and the held-out faces with their distance to the
    pool; each draw's half A prepared once for every set compared with it."""

    def __init__(self, faces: Faces, config: EvaluateConfig) -> None:
        self.config = config
        self.pool = faces.train  # uint8: 50 000 CK faces are 200 MB, not 800 as floats
        self.n = min(len(self.pool) // 2, config.max_images)
        rng = torch.Generator().manual_seed(config.seed)
        self.heldout = {  # uint8, as the pool
            part: at_most(images, config.max_images, rng)
            for part, images in (("val", faces.val), ("test", faces.test))
        }
        # 64 components are well estimated from thousands of faces; a 4096 x 4096 fit on all
        # 50 000 would cost more than everything else here.
        self.pca = PCA.fit(to_float(at_most(self.pool, PCA_FACES, rng)), config.pca_dims)
        self.heldout_distance = {
            part: nearest_distance(to_float(images), self.pool).median().item()
            for part, images in self.heldout.items()
        }
        self._features: dict[int, torch.Tensor] = {}  # c2st features of pool faces, as needed
        # Half A of one draw prepared for SWD (its neighbourhoods and sorted projections: 63 MB
        # at n = 160, 200 MB at n = 500) and projected on the PCA: kept while that draw is scored.
        self._prepared: tuple[int, SlicedWasserstein, torch.Tensor] | None = None

    def pool_faces(self, index: torch.Tensor) -> torch.Tensor:
        return to_float(self.pool[index])

    def halves(self, draw: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices of two disjoint random halves (A, B) of the pool, ``n`` faces each."""
        rng = torch.Generator().manual_seed(draw_seed(self.config.seed, draw))
        order = torch.randperm(len(self.pool), generator=rng)
        return order[: self.n], order[self.n : 2 * self.n]

    def real_faces(self, count: int, draw: int) -> torch.Tensor:
        """The real floor's faces: half B of the draw (``count`` is ``n``)."""
        return self.pool_faces(self.halves(draw)[1][:count])

    def pca_faces(self, count: int, draw: int) -> torch.Tensor:
        """The PCA-Gaussian baseline's faces: drawn from a Gaussian over the PCA space."""
        return self.pca.sample(count, FACE_SHAPE, draw_seed(self.config.seed, draw))

    def real_features(self, draw: int) -> torch.Tensor:
        """Two-sample-test features of half A of ``draw``, each face's computed once."""
        index = self.halves(draw)[0].tolist()
        todo = [i for i in index if i not in self._features]
        if todo:
            computed = c2st_features(self.pool_faces(torch.tensor(todo)))
            self._features |= dict(zip(todo, computed, strict=True))
        return torch.stack([self._features[i] for i in index])

    def _half_a(self, draw: int) -> tuple[SlicedWasserstein, torch.Tensor]:
        """Half A of ``draw``, prepared: the SWD against it, and its PCA features."""
        if self._prepared is None or self._prepared[0] != draw:
            self._prepared = None  # free the previous draw's first
            faces = self.pool_faces(self.halves(draw)[0])
            swd = SlicedWasserstein(
                faces, self.n, seed=draw, patches_per_image=SWD_PATCHES, directions=SWD_DIRECTIONS
            )
            self._prepared = (draw, swd, self.pca.project(faces))
        return self._prepared[1], self._prepared[2]

    def compare(self, images: torch.Tensor, draw: int, memorisation: bool = True) -> Row:
        """``n`` faces against half A of this draw: SWD (mean and per level), precision and
        recall, brightness and contrast; with ``memorisation``, the median distance to the
        nearest training face over the held-out faces' (test and validation people)."""
        swd_to_half_a, half_a_features = self._half_a(draw)
        swd = swd_to_half_a(images)
        precision, recall = precision_recall(half_a_features, self.pca.project(images), k=self.config.k)
        row = {"swd": sum(swd) / len(swd)} | {f"swd_{IMAGE_SIZE >> i}": v for i, v in enumerate(swd)}
        row |= {"precision": precision, "recall": recall}
        row |= {"brightness": images.mean().item(), "contrast": images.std().item()}
        if memorisation:
            distance = nearest_distance(images, self.pool).median().item()
            row["nn_train_distance"] = distance
            row["memorisation_ratio"] = distance / self.heldout_distance["test"]
            row["val_memorisation_ratio"] = distance / self.heldout_distance["val"]
        return row

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
