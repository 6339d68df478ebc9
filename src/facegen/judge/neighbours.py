"""Where faces lie among other faces: the training faces' principal components
("eigenfaces": the feature space, and the PCA-Gaussian baseline), improved precision and
recall on k-NN manifolds, and distances to the nearest training face (memorisation).

Works on float images (N, 1, H, W) in [0, 1] (references also as uint8)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PCA:
    """Principal components of the training faces: the fixed feature space for
    precision/recall and the "eigenfaces" baseline."""

    mean: torch.Tensor  # (D,)
    components: torch.Tensor  # (K, D), rows orthonormal
    scales: torch.Tensor  # (K,) standard deviation along each component

    @classmethod
    def fit(cls, images: torch.Tensor, dims: int, chunk: int = 4096) -> PCA:
        """From the SVD of the centred faces when there are fewer faces than pixels; else from
        the pixel covariance, accumulated ``chunk`` faces at a time, so that 50 000 faces
        never sit in memory in float64 (1.6 GB)."""
        n, pixels = len(images), images[0].numel()
        if n <= pixels:
            flat = images.flatten(1).double()
            mean = flat.mean(0)
            _, singular, vh = torch.linalg.svd(flat - mean, full_matrices=False)
            dims = min(dims, vh.shape[0])
            scales = singular[:dims] / (n - 1) ** 0.5
            return cls(mean.float(), vh[:dims].float(), scales.float())
        mean = sum(part.flatten(1).double().sum(0) for part in images.split(chunk)) / n
        covariance = torch.zeros(pixels, pixels, dtype=torch.float64)
        for part in images.split(chunk):
            centred = part.flatten(1).double() - mean
            covariance.addmm_(centred.T, centred)
        variances, vectors = torch.linalg.eigh(covariance / (n - 1))  # ascending
        dims = min(dims, pixels)
        scales = variances.flip(0)[:dims].clamp_min(0).sqrt()
        return cls(mean.float(), vectors.flip(1)[:, :dims].T.contiguous().float(), scales.float())

    def project(self, images: torch.Tensor) -> torch.Tensor:
        return (images.flatten(1) - self.mean) @ self.components.T

    def sample(self, n: int, shape: tuple[int, ...], seed: int) -> torch.Tensor:
        """Faces drawn from the Gaussian fitted in PCA space, clipped to [0, 1]."""
        z = torch.randn(n, len(self.scales), generator=torch.Generator().manual_seed(seed))
        flat = self.mean + (z * self.scales) @ self.components
        return flat.clamp(0, 1).view(n, *shape)


def _kth_neighbour_radius(features: torch.Tensor, k: int) -> torch.Tensor:
    distances = torch.cdist(features, features)
    return distances.kthvalue(k + 1, dim=1).values  # k+1: the nearest is the point itself


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature sets (N, D):
    precision = share of fakes inside the real k-NN manifold (union of balls reaching each
    real point's k-th nearest real neighbour), recall = share of reals inside the fake one."""

    def coverage(points: torch.Tensor, manifold: torch.Tensor) -> float:
        radius = _kth_neighbour_radius(manifold, min(k, len(manifold) - 1))
        inside = torch.cdist(points, manifold) <= radius[None, :]
        return inside.any(dim=1).float().mean().item()

    return coverage(fake, real), coverage(real, fake)


CANDIDATES = 16  # nearest by the fast distance, re-measured exactly


def nearest_distance(queries: torch.Tensor, references: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Euclidean distance (in pixel units, images in [0, 1]) from each query image to its
    nearest reference image. uint8 references are taken as 0..255 and converted ``chunk`` at
    a time, so a large reference set never sits in memory as floats."""
    flat = queries.flatten(1).float()
    nearest = torch.full((len(flat),), float("inf"), dtype=torch.float64)
    for part in references.split(chunk):
        part = part.flatten(1).float()
        if references.dtype == torch.uint8:
            part = part / 255.0
        # cdist's matrix-product form finds candidates quickly, but its float32 cancellation
        # error (up to 0.004 for faces at distance 8) depends on the tensors' memory alignment
        # in MKL: the same faces gave different memorisation ratios from run to run. The
        # distances to the few nearest candidates are then computed directly, in float64.
        candidates = torch.cdist(flat, part).topk(min(CANDIDATES, len(part)), dim=1, largest=False).indices
        exact = torch.cat(
            [  # (n,) in slices of 64 queries: (64, k, pixels) float64 is 33 MB
                (q.double()[:, None] - part[c].double()).square().sum(2).sqrt().min(dim=1).values
                for q, c in zip(flat.split(64), candidates.split(64), strict=True)
            ]
        )
        nearest = torch.minimum(nearest, exact)
    return nearest.float()
