import io

import numpy as np
import pytest
import torch
from PIL import Image

from facegen.checkpoints import ModelDir
from facegen.config import RenderConfig, VAEConfig
from facegen.models import GAN, VAE
from facegen.render import (
    PAD,
    fixed_latents,
    gif_bytes,
    grid,
    lerp,
    render_snapshots,
    slerp,
    walk_frames,
    walks,
)


def test_lerp_and_slerp_hit_the_endpoints():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    t = torch.linspace(0, 1, 5)
    for path in (lerp, slerp):
        out = path(a, b, t)
        assert torch.allclose(out[0], a) and torch.allclose(out[-1], b, atol=1e-6)
    assert torch.allclose(lerp(a, b, t)[2], torch.tensor([0.5, 1.0]))
    # slerp between unit vectors stays on the unit circle
    unit = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), t)
    assert torch.allclose(unit.norm(dim=1), torch.ones(5), atol=1e-6)


def test_walks_shape():
    starts, ends = torch.randn(3, 4), torch.randn(3, 4)
    codes = walks(starts, ends, steps=6, mode="slerp")
    assert codes.shape == (18, 4)
    assert torch.allclose(codes[6], starts[1], atol=1e-5)


def test_grid_layout_and_clipping():
    images = torch.stack([torch.full((1, 4, 4), v) for v in (-1.0, 0.5, 2.0)])
    canvas = grid(images, columns=2)
    assert canvas.shape == (2 * (4 + PAD) + PAD, 2 * (4 + PAD) + PAD)
    assert canvas[PAD, PAD] == 0 and canvas[PAD, 2 * PAD + 4] == 128 and canvas[2 * PAD + 4, PAD] == 255


def test_gif_plays_forward_and_back():
    walk = torch.rand(2 * 5, 1, 8, 8)
    frames = walk_frames(walk, rows=2, steps=5)
    assert len(frames) == 8  # 5 forward, 3 back
    gif = Image.open(io.BytesIO(gif_bytes(frames, fps=10)))
    assert gif.n_frames == 8


def test_fixed_latents_are_fixed():
    assert torch.equal(fixed_latents(4, 3, seed=1), fixed_latents(4, 3, seed=1))
    assert not torch.equal(fixed_latents(4, 3, seed=1), fixed_latents(4, 3, seed=2))


@pytest.fixture
def snapshot_dirs(tmp_path):
    for kind, model in (("vae", VAE(8)), ("gan", GAN(8))):
        save = ModelDir(tmp_path / kind).snapshot_writer(kind, VAEConfig())
        for epoch in (2, 4):
            save(epoch, model.eval())
    return tmp_path


def test_render_snapshots_names_every_picture(snapshot_dirs):
    val = torch.randint(0, 256, (5, 1, 64, 64), dtype=torch.uint8)
    config = RenderConfig(steps=4, rows=3, samples=9)
    out = dict(
        render_snapshots(ModelDir(snapshot_dirs / "vae"), ModelDir(snapshot_dirs / "gan"), val, config)
    )
    for epoch in (2, 4):
        for name in ("vae/vae_interpolation_ck", "vae/vae_samples", "vae/vae_reconstruction"):
            assert f"{name}_E{epoch}.png" in out
        assert f"gan/gan_interpolation_ck_E{epoch}.png" in out and f"gan/gan_samples_E{epoch}.png" in out
    walk = np.asarray(Image.open(io.BytesIO(out["vae/vae_interpolation_ck_E4.png"])))
    assert walk.shape == (3 * (64 + PAD) + PAD, 4 * (64 + PAD) + PAD)  # rows x steps
    samples = np.asarray(Image.open(io.BytesIO(out["gan/gan_samples_E2.png"])))
    assert samples.shape == (3 * (64 + PAD) + PAD,) * 2  # 9 samples: 3 x 3
    assert Image.open(io.BytesIO(out["gan/gan_interpolation.gif"])).n_frames == 6
