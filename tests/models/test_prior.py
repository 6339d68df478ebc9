"""The Gaussian mixture prior: EM finds clusters, and standard-normal codes map to samples
distributed as the mixture."""

import pytest
import torch

from facegen.models.prior import Mixture, diagonal_log_density, fit_mixture, kmeans_plus_plus, mixture_codes


def clusters(n: int = 3000) -> tuple[torch.Tensor, torch.Tensor]:
    """Three well-separated 2-d clusters of 50 %, 30 % and 20 % of the points."""
    generator = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
    label = torch.multinomial(torch.tensor([0.5, 0.3, 0.2]), n, replacement=True, generator=generator)
    return centres[label] + torch.randn(n, 2, generator=generator) * torch.tensor([1.0, 0.5]), centres


def test_em_finds_the_clusters_their_shares_and_spreads():
    points, centres = clusters()
    fitted = fit_mixture(points, 3, seed=0)
    order = torch.cdist(centres, fitted.means.float()).argmin(1)
    assert torch.allclose(fitted.means[order].float(), centres, atol=0.1)
    assert torch.allclose(fitted.weights[order].float(), torch.tensor([0.5, 0.3, 0.2]), atol=0.03)
    assert torch.allclose(fitted.stds[order].float(), torch.tensor([[1.0, 0.5]] * 3), atol=0.06)
    again = fit_mixture(points, 3, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(fitted, again, strict=True))  # seeded: the same bits
    with pytest.raises(ValueError, match="4 mixture components for 3 codes"):
        fit_mixture(points[:3], 4, seed=0)


def test_kmeans_plus_plus_chooses_as_its_definition_does():
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(1)).double()
    rng = torch.Generator().manual_seed(0)
    chosen = [int(torch.randint(len(x), (1,), generator=rng))]
    for _ in range(39):  # the squared distance to every chosen row, recomputed each time
        nearest = torch.cdist(x, x[chosen]).min(1).values.square()
        chosen.append(int(torch.multinomial(nearest / nearest.sum(), 1, generator=rng)))
    assert kmeans_plus_plus(x, 40, torch.Generator().manual_seed(0)) == chosen
    assert len(set(chosen)) == 40  # a chosen row is at distance 0: never drawn again


def test_the_expanded_log_density_is_the_direct_one_to_float64_rounding():
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(50, 64, generator=generator, dtype=torch.float64) * 3
    means = torch.randn(7, 64, generator=generator, dtype=torch.float64) * 3
    variances = torch.rand(7, 64, generator=generator, dtype=torch.float64) + 0.01
    direct = -0.5 * ((x[:, None] - means).square() / variances + variances.log()).sum(2)
    # float64 cancellation of terms of about 1e5 leaves errors near 1e-10
    assert torch.allclose(diagonal_log_density(x, means, variances), direct, rtol=1e-12, atol=1e-8)


def test_standard_normal_codes_map_to_samples_of_the_mixture():
    mixture = Mixture(
        torch.tensor([0.6, 0.4]),
        torch.tensor([[0.0, 0.0], [10.0, -5.0]]),
        torch.tensor([[1.0, 1.0], [0.5, 2.0]]),
    )
    z = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(1))
    samples = mixture_codes(mixture, z)
    second = samples[:, 0] > 5  # 5 sd from one mean, 10 from the other: no sample is misread
    assert second.float().mean().item() == pytest.approx(0.4, abs=0.005)
    for picked, mean, std in ((~second, (0.0, 0.0), (1.0, 1.0)), (second, (10.0, -5.0), (0.5, 2.0))):
        # sampling error of 80 000-120 000 points: about 0.01
        assert torch.allclose(samples[picked].mean(0), torch.tensor(mean), atol=0.03)
        assert torch.allclose(samples[picked].std(0), torch.tensor(std), atol=0.03)
    assert torch.equal(mixture_codes(mixture, z[:5]), samples[:5])  # a function of z alone
