"""What both training loops share: batches and the faces' augmentation."""

import torch

from facegen.augment import hflip, shift
from facegen.config import GANConfig, VAEConfig
from facegen.train.loop import augment_faces, batches


def test_batches_are_full_and_seeded():
    order = batches(10, 4, torch.Generator().manual_seed(0))
    assert [len(b) for b in order] == [4, 4]
    again = batches(10, 4, torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(order, again, strict=True))


def test_training_faces_are_mirrored_then_shifted_as_configured():
    x = torch.rand(8, 1, 64, 64)

    def seeded() -> torch.Generator:
        return torch.Generator().manual_seed(0)

    assert augment_faces(x, GANConfig(hflip=False, shift=0), seeded()) is x
    assert torch.equal(augment_faces(x, VAEConfig(hflip=False, shift=2), seeded()), shift(x, seeded(), 2))
    generator = seeded()
    expected = shift(hflip(x, generator), generator, 2)
    assert torch.equal(augment_faces(x, VAEConfig(hflip=True, shift=2), seeded()), expected)
    assert not torch.equal(expected, x)
