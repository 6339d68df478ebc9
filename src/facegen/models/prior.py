"""A Gaussian mixture with diagonal covariances: fitted by EM to a VAE's codes, and sampled
as a deterministic function of standard-normal codes, so that the same ``z`` gives the same
face in every picture and metric.

Why a mixture: the codes of real faces do not fill one Gaussian. Decoding samples of the
Gaussian fitted to them puts many faces between the training faces' codes, where the decoder
draws blends; a mixture with a component per region of faces keeps samples where faces are
(measured in docs/choosing-defaults.md, sixth round)."""

from __future__ import annotations

from typing import NamedTuple

import torch

ITERATIONS = 200  # EM steps: the log-likelihood of 320 ORL codes settles within about 50
VARIANCE_FLOOR = 1e-3  # of the codes' mean variance: no component shrinks onto one code


class Mixture(NamedTuple):
    weights: torch.Tensor  # (K,), summing to 1
    means: torch.Tensor  # (K, D)
    stds: torch.Tensor  # (K, D)


def fit_mixture(codes: torch.Tensor, components: int, seed: int) -> Mixture:
    """EM on ``codes`` (N, D) in float64, from means chosen by seeded k-means++."""
    x = codes.double()
    n = len(x)
    if components > n:
        raise ValueError(f"{components} mixture components for {n} codes")
    means = x[kmeans_plus_plus(x, components, torch.Generator().manual_seed(seed))]
    variances = x.var(0).expand(components, -1).clone()
    weights = torch.full((components,), 1 / components, dtype=torch.float64)
    floor = VARIANCE_FLOOR * x.var(0).mean()
    for _ in range(ITERATIONS):
        # E step: each code's responsibility of each component, (N, K)
        log_density = diagonal_log_density(x, means, variances)
        responsibility = torch.softmax(log_density + weights.log(), dim=1)
        # M step
        mass = responsibility.sum(0) + 1e-12
        weights = mass / n
        means = responsibility.T @ x / mass[:, None]
        variances = (responsibility.T @ x.square() / mass[:, None] - means.square()).clamp_min(floor)
    return Mixture(weights, means, variances.sqrt())


def kmeans_plus_plus(x: torch.Tensor, count: int, rng: torch.Generator) -> list[int]:
    """Indices of ``count`` rows of ``x`` (N, D): the first uniform, each next drawn with
    probability proportional to its squared distance to the nearest chosen. That distance is
    kept and lowered by each new choice: 512 of 40 000 codes in 1.5 s, where recomputing it to
    every chosen row took 31 s, with the same choices."""
    chosen = [int(torch.randint(len(x), (1,), generator=rng))]
    nearest = (x - x[chosen[0]]).square().sum(1)  # (N,)
    for _ in range(count - 1):
        chosen.append(int(torch.multinomial(nearest / nearest.sum(), 1, generator=rng)))
        nearest = torch.minimum(nearest, (x - x[chosen[-1]]).square().sum(1))
    return chosen


def diagonal_log_density(x: torch.Tensor, means: torch.Tensor, variances: torch.Tensor) -> torch.Tensor:
    """log N(x_n; mean_k, diag(variance_k)) up to the constant -D/2 log(2 pi), (N, K), for x
    (N, D) and means, variances (K, D): the squared distance expanded into three products,
    so no (N, K, D) tensor is made (40 000 codes of 64 by 32 components: 655 MB each)."""
    precision = variances.reciprocal()
    squared = x.square() @ precision.T - 2 * x @ (means * precision).T + (means.square() * precision).sum(1)
    return -0.5 * (squared + variances.log().sum(1))


def mixture_codes(mixture: Mixture, z: torch.Tensor) -> torch.Tensor:
    """Map standard-normal codes ``z`` (B, D) to samples of ``mixture``, exactly distributed
    as the mixture when ``z`` is N(0, I): the first coordinate's normal quantile picks the
    component (by the cumulative weights) and, rescaled within that component's share, is
    turned back into a standard-normal coordinate; then mean + std * z per component."""
    weights, means, stds = (t.to(z.dtype) for t in mixture)
    normal = torch.distributions.Normal(torch.zeros((), dtype=z.dtype), torch.ones((), dtype=z.dtype))
    u = normal.cdf(z[:, 0])
    upper = weights.cumsum(0)
    k = torch.searchsorted(upper, u.contiguous()).clamp_max(len(weights) - 1)
    within = (u - (upper[k] - weights[k])) / weights[k]
    first = normal.icdf(within.clamp(1e-6, 1 - 1e-6))
    z = torch.cat([first[:, None], z[:, 1:]], dim=1)
    return means[k] + stds[k] * z
