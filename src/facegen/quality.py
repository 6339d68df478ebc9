"""Sample-quality math: sliced Wasserstein distance over a Laplacian pyramid, PCA
("eigenfaces"), precision and recall on k-NN manifolds, nearest-neighbour distances.

Everything works on float images (N, 1, H, W) in [0, 1] and needs no pretrained network,
so it runs offline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


def _binomial_blur(x: torch.Tensor) -> torch.Tensor:
    """5-tap binomial low-pass filter [1, 4, 6, 4, 1] / 16 in both directions, reflect-padded."""
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16
    kernel = (kernel[:, None] * kernel[None, :]).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=x.shape[1])


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """Blur, then keep every second pixel: (N, C, H, W) -> (N, C, H/2, W/2)."""
    return _binomial_blur(x)[:, :, ::2, ::2]


def _upsample(x: torch.Tensor) -> torch.Tensor:
    """Insert zeros between pixels, then blur (x4 for the zeros): (N, C, H, W) -> (N, C, 2H, 2W).
    Reproduces linear ramps exactly away from the borders (no half-pixel shift)."""
    n, c, h, w = x.shape
    spread = x.new_zeros(n, c, 2 * h, 2 * w)
    spread[:, :, ::2, ::2] = x
    return 4 * _binomial_blur(spread)


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels, finest first, then the low-pass residual: for 64x64 and 3 levels,
    (64x64, 32x32 details; 16x16 residual), as in Karras et al. 2018 (5-tap binomial filter,
    zero insertion). :func:`collapse` inverts it exactly."""
    pyramid = []
    current = images
    for _ in range(levels - 1):
        down = _downsample(current)
        pyramid.append(current - _upsample(down))
        current = down
    pyramid.append(current)
    return pyramid


def collapse(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """The image a :func:`laplacian_pyramid` came from."""
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        image = band + _upsample(image)
    return image


def _corners(
    n: int, height: int, width: int, per_image: int, size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-left corners (ys, xs), each (n, per_image), of random size x size neighbourhoods."""
    ys = torch.randint(0, height - size + 1, (n, per_image), generator=generator)
    xs = torch.randint(0, width - size + 1, (n, per_image), generator=generator)
    return ys, xs


def _gather(level: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, size: int) -> torch.Tensor:
    """The neighbourhoods at corners ``ys``, ``xs`` of each image, flattened: (N * per_image, size^2)."""
    n, per_image = ys.shape
    offsets = torch.arange(size)
    rows = (ys[..., None] + offsets)[..., :, None].expand(n, per_image, size, size)
    cols = (xs[..., None] + offsets)[..., None, :].expand(n, per_image, size, size)
    batch = torch.arange(n)[:, None, None, None].expand_as(rows)
    return level[:, 0][batch, rows, cols].reshape(n * per_image, size * size)


def _sorted_projections(directions: torch.Tensor, patches: torch.Tensor) -> np.ndarray:
    """(directions, descriptors): each descriptor projected on each unit direction, sorted
    along each direction. The 1-D Wasserstein distance along a direction compares two such
    sorted rows. Sorted along contiguous rows: numpy's sort is the fastest here, and sorting
    dominates the cost."""
    return np.sort((directions.T @ patches.T).numpy(), axis=1)


@dataclass(frozen=True)
class _Band:
    """One pyramid level of a prepared reference set."""

    ys: torch.Tensor  # (count, per_image) corners of the compared set's neighbourhoods
    xs: torch.Tensor
    mean: torch.Tensor  # the reference's statistics, which normalise both sets
    std: torch.Tensor
    directions: list[torch.Tensor]  # one (size^2, directions) unit matrix per repeat
    sorted_reference: list[np.ndarray]  # (directions, descriptors) sorted projections per repeat


class SlicedWasserstein:
    """Sliced Wasserstein distance to a fixed reference set, following Karras et al. 2018,
    section 5 and appendix D: 7x7 neighbourhoods (128 per image per level), normalised per
    level, 512 random unit directions, repeated 4 times and averaged, x1000 as in the paper's
    tables; one value per Laplacian-pyramid level, finest first.

    The reference's side (its pyramid, neighbourhoods, statistics and sorted projections) is
    computed once, so comparing many sets of ``count`` images with one reference costs half
    as much; the random draws are those of comparing one set with the reference afresh.
    The distance depends on the sample size: compare sets as large as the reference."""

    def __init__(
        self,
        reference: torch.Tensor,
        count: int,
        seed: int = 0,
        levels: int = 3,
        patches_per_image: int = 128,
        patch_size: int = 7,
        directions: int = 512,
        repeats: int = 4,
    ) -> None:
        self.count, self.levels, self.patch_size = count, levels, patch_size
        generator = torch.Generator().manual_seed(seed)
        self.bands = []
        for level in laplacian_pyramid(reference, levels):
            height, width = level.shape[-2:]
            # the compared set's corners first, then the reference's: one stream, fixed order
            ys, xs = _corners(count, height, width, patches_per_image, patch_size, generator)
            corners = _corners(len(level), height, width, patches_per_image, patch_size, generator)
            patches = _gather(level, *corners, patch_size)
            # Normalise both sets with the reference set's statistics (the paper normalises each
            # set by its own, which hides a global brightness or contrast error).
            mean, std = patches.mean(), patches.std().clamp_min(1e-8)
            patches = (patches - mean) / std
            units = []
            for _ in range(repeats):
                d = torch.randn(patches.shape[1], directions, generator=generator)
                units.append(d / d.norm(dim=0, keepdim=True))
            projections = [_sorted_projections(d, patches) for d in units]
            self.bands.append(_Band(ys, xs, mean, std, units, projections))

    def __call__(self, images: torch.Tensor) -> list[float]:
        if len(images) != self.count:
            raise ValueError(f"{len(images)} images against a reference prepared for {self.count}")
        distances = []
        for band, level in zip(self.bands, laplacian_pyramid(images, self.levels), strict=True):
            patches = (_gather(level, band.ys, band.xs, self.patch_size) - band.mean) / band.std
            total = 0.0
            for d, sorted_reference in zip(band.directions, band.sorted_reference, strict=True):
                total += float(np.abs(_sorted_projections(d, patches) - sorted_reference).mean())
            distances.append(1000 * total / len(band.directions))
        return distances


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, **options: int) -> list[float]:
    """Sliced Wasserstein distance between image sets ``a`` and the reference ``b``;
    ``options`` (seed, levels, patches_per_image, ...) as for :class:`SlicedWasserstein`,
    which prepares ``b`` once to compare many sets with it."""
    return SlicedWasserstein(b, len(a), **options)(a)


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


# --- classifier two-sample test ---------------------------------------------------------

C2ST_FILTERS = 32  # random zero-mean 5x5 filters (half of them 3x3 inside the 5x5 window)
C2ST_SCALES = 3  # 64, 32 and 16 px
C2ST_LAYOUT = 8  # the image averaged to 8 x 8: where things are, brightness


def _random_filters(seed: int) -> torch.Tensor:
    """(32, 1, 5, 5) fixed random filters, zero-mean (they respond to structure, not to
    brightness) and unit-norm."""
    generator = torch.Generator().manual_seed(seed)
    filters = torch.randn(C2ST_FILTERS, 1, 5, 5, generator=generator)
    filters[: C2ST_FILTERS // 2, :, [0, -1], :] = 0  # half of them 3x3
    filters[: C2ST_FILTERS // 2, :, :, [0, -1]] = 0
    nonzero = filters != 0
    mean = filters.sum((2, 3), keepdim=True) / nonzero.sum((2, 3), keepdim=True)
    filters = (filters - mean) * nonzero
    return filters / filters.flatten(1).norm(dim=1)[:, None, None, None]


@torch.no_grad()
def c2st_features(images: torch.Tensor, seed: int = 0, chunk: int = 256) -> torch.Tensor:
    """(N, 1, H, W) images in [0, 1] -> (N, F) features for the two-sample classifier: at three
    scales, the mean absolute and the mean squared positive response of 32 random filters
    (texture: blur, speckle, checkerboards, streaks), the 8 x 8 layout, mean and std."""
    filters = _random_filters(seed).to(images.device, images.dtype)
    out = []
    for part in images.split(chunk):
        features, current = [], part
        for _ in range(C2ST_SCALES):
            response = F.conv2d(current, filters, padding=2)  # (n, 32, h, w)
            features += [response.abs().mean((2, 3)), response.relu().square().mean((2, 3)).sqrt()]
            current = F.avg_pool2d(current, 2)
        features += [F.adaptive_avg_pool2d(part, C2ST_LAYOUT).flatten(1)]
        features += [part.mean((1, 2, 3))[:, None], part.std((1, 2, 3))[:, None]]
        out.append(torch.cat(features, 1))
    return torch.cat(out)


def classifier_two_sample_test(
    pairs: list[tuple[torch.Tensor, torch.Tensor]], weight_decay: float = 0.01, steps: int = 300
) -> torch.Tensor:
    """Classifier two-sample tests (Lopez-Paz and Oquab 2017), one per (real, other) pair of
    feature sets (n, F) from :func:`c2st_features`, each with 2 folds: a logistic read-out is
    trained on half of each set and tested on the other half, then the halves swap.

    Returns the held-out accuracy, shape (pairs, 2): 0.5 means the classifier cannot tell the
    sets apart, 1.0 that it always can. All classifiers are trained at once by full-batch
    Adam for a fixed number of steps, which treats each one's weights on their own: a pair's
    result does not depend on the other pairs."""
    n = min(min(len(real), len(other)) for real, other in pairs)
    half = n // 2
    train, test = [], []
    for real, other in pairs:
        for first, second in (
            (slice(0, half), slice(half, 2 * half)),
            (slice(half, 2 * half), slice(0, half)),
        ):
            train.append(torch.cat([real[first], other[first]]))
            test.append(torch.cat([real[second], other[second]]))
    x_train, x_test = torch.stack(train).double(), torch.stack(test).double()  # (G, 2 half, F)
    mean, std = x_train.mean(1, keepdim=True), x_train.std(1, keepdim=True).clamp_min(1e-8)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    labels = torch.cat([torch.ones(half), torch.zeros(half)]).double()  # 1: real
    groups, _, dims = x_train.shape
    weights = torch.zeros(groups, dims, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(groups, 1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([weights, bias], lr=0.05)
    for _ in range(steps):
        logits = torch.einsum("gnf,gf->gn", x_train, weights) + bias
        # a sum over the independent classifiers: each one's gradient is its own
        loss = F.binary_cross_entropy_with_logits(logits, labels.expand(groups, -1), reduction="none")
        loss = loss.mean(1).sum() + weight_decay * weights.square().sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = (torch.einsum("gnf,gf->gn", x_test, weights) + bias) > 0
        accuracy = (predicted.double() == labels).double().mean(1)
    return accuracy.view(len(pairs), 2).float()
