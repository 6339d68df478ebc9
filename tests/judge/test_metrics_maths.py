"""The metric maths: SWD, the PCA space and its neighbours, the two-sample test."""

import pytest
import torch
import torch.nn.functional as F

from facegen.data.demo import orl_faces
from facegen.judge.c2st import c2st_features, classifier_two_sample_test
from facegen.judge.neighbours import PCA, nearest_distance, precision_recall
from facegen.judge.swd import SlicedWasserstein, laplacian_pyramid, upsample


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return torch.from_numpy(orl_faces()[:, None].copy()).float() / 255  # (400, 1, 64, 64)


def collapse(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """The image a :func:`laplacian_pyramid` came from."""
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        image = band + upsample(image)
    return image


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, **options: int) -> list[float]:
    """Sliced Wasserstein distance between image sets ``a`` and the reference ``b``;
    ``options`` (seed, levels, patches_per_image, ...) as for :class:`SlicedWasserstein`,
    which prepares ``b`` once to compare many sets with it."""
    return SlicedWasserstein(b, len(a), **options)(a)


def blur(images: torch.Tensor, size: int) -> torch.Tensor:
    return F.avg_pool2d(F.pad(images, [size // 2] * 4, mode="reflect"), size, stride=1)


def swd(a, b, seed=0):
    values = sliced_wasserstein(a, b, seed=seed, patches_per_image=32)  # fewer patches: fast
    return sum(values) / len(values)


def test_laplacian_pyramid_of_a_ramp_has_no_fine_detail_and_collapses_back():
    ramp = torch.linspace(0, 1, 64).expand(64, 64)[None, None] * 0.7 + torch.linspace(0, 0.3, 64)[:, None]
    bands = laplacian_pyramid(ramp.contiguous(), 3)
    inner = (slice(None), slice(None), slice(4, -4), slice(4, -4))  # away from the reflected borders
    assert bands[0][inner].abs().max() < 1e-5  # nearest-neighbour upsampling left ~0.005 here
    assert bands[1][..., 6:-6, 6:-6].abs().max() < 1e-5
    images = torch.rand(3, 1, 64, 64)
    assert torch.allclose(collapse(laplacian_pyramid(images, 3)), images, atol=1e-5)


def test_laplacian_pyramid_levels():
    levels = laplacian_pyramid(torch.rand(2, 1, 64, 64), 3)
    assert [tuple(level.shape[-2:]) for level in levels] == [(64, 64), (32, 32), (16, 16)]
    flat = torch.full((1, 1, 64, 64), 0.5)
    assert laplacian_pyramid(flat, 3)[0].abs().max() < 1e-6  # no detail in a flat image


def test_swd_is_small_for_the_same_faces_and_grows_with_blur_and_shift(faces):
    a, b = faces[0::2], faces[1::2]  # two photos of each person: the same distribution
    same = swd(a, a)
    assert same < swd(b, a)  # sampling noise only: different patches of the same images
    assert swd(b, a) < swd(blur(b, 3), a) < swd(blur(b, 5), a)
    assert swd(b, a) < swd((b + 0.1).clamp(0, 1), a) < swd((b + 0.3).clamp(0, 1), a)


def test_swd_is_reproducible_with_a_seed(faces):
    a, b = faces[:50], faces[50:100]
    assert sliced_wasserstein(a, b, seed=3) == sliced_wasserstein(a, b, seed=3)
    assert sliced_wasserstein(a, b, seed=3) != sliced_wasserstein(a, b, seed=4)


def test_a_prepared_reference_gives_the_distances_of_comparing_afresh(faces):
    reference = faces[:40]
    prepared = SlicedWasserstein(reference, 40, seed=2, patches_per_image=32)
    for images in (faces[40:80], blur(faces[40:80], 3), faces[80:120]):  # reused, in any order
        assert prepared(images) == sliced_wasserstein(images, reference, seed=2, patches_per_image=32)
    with pytest.raises(ValueError, match="39 images against a reference prepared for 40"):
        prepared(faces[:39])


def test_nearest_distance_is_exact_whatever_the_memory_alignment(faces):
    queries = (
        faces[:40] + 0.05 * torch.randn(40, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    ).clamp(0, 1)
    pool = (faces[40:] * 255).round().to(torch.uint8)
    found = nearest_distance(queries, pool)
    direct = torch.cdist(
        queries.flatten(1).double(),
        pool.flatten(1).double() / 255,
        compute_mode="donot_use_mm_for_euclid_dist",
    ).min(1)
    assert torch.allclose(found.double(), direct.values, atol=1e-5)
    for offset in (1, 3, 8):  # MKL's matrix product rounds differently at other alignments
        buffer = torch.empty(queries.numel() + offset)
        shifted = buffer[offset:].view(queries.shape)
        shifted.copy_(queries)
        assert torch.equal(nearest_distance(shifted, pool), found)


def test_precision_recall(faces):
    pca = PCA.fit(faces, 32)
    real = pca.project(faces[:100])
    assert precision_recall(real, real) == (1.0, 1.0)
    far = real + 1000.0
    assert precision_recall(real, far) == (0.0, 0.0)
    # Heavily blurred faces cover less of the real faces than other real faces do.
    held_out = pca.project(faces[100:200])
    assert (
        precision_recall(held_out, pca.project(blur(faces[:100], 9)))[1] < precision_recall(held_out, real)[1]
    )
    cluster = real[:1].repeat(100, 1) + 0.01 * torch.randn(100, real.shape[1])  # mode collapse
    assert precision_recall(real, cluster)[1] < 0.1


def test_pca_gaussian_samples(faces):
    pca = PCA.fit(faces, 16)
    assert pca.components.shape == (16, 4096)
    assert torch.allclose(pca.components @ pca.components.T, torch.eye(16), atol=1e-4)
    samples = pca.sample(8, (1, 64, 64), seed=0)
    assert samples.shape == (8, 1, 64, 64) and samples.min() >= 0 and samples.max() <= 1
    assert torch.equal(samples, pca.sample(8, (1, 64, 64), seed=0))


def test_nearest_distance_finds_copies(faces):
    assert nearest_distance(faces[:10], faces).max() < 0.1  # 0 up to matmul rounding
    assert nearest_distance(faces[:10], faces[10:]).min() > 1


def test_the_two_sample_classifier_cannot_tell_real_from_real_but_tells_blur(faces):
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(400, generator=generator)
    a, b = faces[order[:200]], faces[order[200:]]
    features_a, features_b = c2st_features(a), c2st_features(b)
    pairs = [(features_a, features_b), (features_a, c2st_features(blur(b, 3)))]
    accuracy = classifier_two_sample_test(pairs)
    assert accuracy.shape == (2, 2)
    assert 0.35 < accuracy[0].mean() < 0.65
    assert accuracy[1].mean() > 0.9
    # Each classifier trains on its own: another pair in the batch changes nothing.
    assert torch.equal(classifier_two_sample_test(pairs[:1]), accuracy[:1])


def test_pca_from_the_covariance_agrees_with_the_svd(faces):
    few = PCA.fit(faces[:300, :, :8, :8], 5)  # 300 faces of 64 pixels: covariance route
    small = PCA.fit(faces[:40, :, :8, :8], 5)  # 40 faces <= 64 pixels: SVD route
    flat = faces[:300, :, :8, :8].flatten(1).double()
    _, singular, vh = torch.linalg.svd(flat - flat.mean(0), full_matrices=False)
    assert torch.allclose(few.scales, (singular[:5] / 299**0.5).float(), rtol=1e-4)
    assert torch.allclose((few.components @ vh[:5].float().T).abs(), torch.eye(5), atol=1e-3)  # up to sign
    assert small.components.shape == (5, 64)
