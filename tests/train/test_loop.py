"""What both training loops share: batches, snapshots, and the faces' augmentation."""

import torch

from facegen.config import GANConfig, VAEConfig
from facegen.train.augment import augment_faces, hflip, shift
from facegen.train.loop import Session, batches, snapshot_due


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
    rng = seeded()
    expected = shift(hflip(x, rng), rng, 2)
    assert torch.equal(augment_faces(x, VAEConfig(hflip=True, shift=2), seeded()), expected)
    assert not torch.equal(expected, x)


def test_snapshots_are_due_every_so_many_epochs_and_at_the_last():
    assert [e for e in range(1, 8) if snapshot_due(e, 7, 3)] == [3, 6, 7]


def test_a_restored_session_computes_on_the_thread_count_it_began_with():
    """The count changes float rounding: a resumed run keeps it, whatever the load now."""
    rng = torch.Generator().manual_seed(0)
    session = Session("vae", VAEConfig(), {}, rng, steps_per_epoch=1)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        state = session.state()
        assert state["threads"] == 1
        torch.set_num_threads(2)
        session.restore(state)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
