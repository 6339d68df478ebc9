"""The classifier two-sample test (Lopez-Paz and Oquab 2017): how well a logistic read-out of
fixed random-filter features tells generated faces from real ones (0.5: it cannot)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

C2ST_FILTERS = 32  # random zero-mean 5x5 filters (half of them 3x3 inside the 5x5 window)
C2ST_SCALES = 3  # 64, 32 and 16 px
C2ST_LAYOUT = 8  # the image averaged to 8 x 8: where things are, brightness


def _random_filters(seed: int) -> torch.Tensor:
    """(32, 1, 5, 5) fixed random filters, zero-mean (they respond to structure, not to
    brightness) and unit-norm."""
    rng = torch.Generator().manual_seed(seed)
    filters = torch.randn(C2ST_FILTERS, 1, 5, 5, generator=rng)
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
