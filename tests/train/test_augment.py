import torch

from facegen.train.augment import GRAY, cutout, diff_augment, hflip, shift, translate


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_hflip_mirrors_about_half_and_repeats_with_the_seed():
    x = torch.rand(200, 1, 8, 8)
    out = hflip(x, seeded())
    flipped = (out == x.flip(3)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert bool((flipped | kept).all()) and 60 < int(flipped.sum()) < 140
    assert torch.equal(out, hflip(x, seeded()))


def test_translate_shifts_content_and_fills_the_gap_mid_gray():
    x = torch.zeros(50, 1, 64, 64)
    x[:, :, 30:34, 30:34] = 1.0  # a square in the middle
    out = translate(x, seeded())
    assert out.shape == x.shape and torch.equal(
        (out == 1).sum((1, 2, 3)), x.sum((1, 2, 3)).long()
    )  # nothing lost
    moved = (out != x).flatten(1).any(1)
    assert moved.float().mean() > 0.8  # shifts of up to 8 px, zero in few cases
    # the gap is mid-gray, as the reference's 0 in [-1, 1] faces, never black
    full = translate(torch.ones(20, 1, 64, 64), seeded())
    assert set(full.unique().tolist()) == {GRAY, 1.0}


def test_shift_moves_each_face_by_at_most_its_pixels_and_repeats_the_border():
    x = torch.rand(40, 1, 16, 16)
    out = shift(x, seeded(), 2)
    assert torch.equal(out, shift(x, seeded(), 2))
    index = torch.arange(16)
    offsets = []
    for image, moved in zip(x, out, strict=True):
        # The one (dy, dx) that explains the output: out[y, x] = image[clamp(y - dy), clamp(x - dx)].
        found = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(moved[0], image[0][(index - dy).clamp(0, 15)][:, (index - dx).clamp(0, 15)])
        ]
        assert len(found) == 1
        offsets.append(found[0])
    assert len(set(offsets)) > 10  # the offsets vary from face to face


def test_cutout_paints_one_square_of_half_the_size_mid_gray():
    out = cutout(torch.ones(30, 1, 64, 64), seeded())
    assert set(out.unique().tolist()) == {GRAY, 1.0}
    painted = (out == GRAY).flatten(1).sum(1)
    assert painted.max() == 32 * 32 and painted.min() >= 16 * 16  # a corner square may be cut off


def test_diff_augment_is_differentiable():
    x = torch.rand(4, 1, 64, 64, requires_grad=True)
    diff_augment(x, seeded()).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
