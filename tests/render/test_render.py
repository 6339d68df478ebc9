import io

import numpy as np
import pytest
import torch
from PIL import Image

from facegen.config import RenderConfig, VAEConfig
from facegen.io import PAD, Faces, csv_text, gif_bytes, grid, write_json
from facegen.models import GAN, VAE, ModelDir, fixed_codes
from facegen.render import COMPARISON, lerp, render_all, slerp, walk_frames, walks
from facegen.render.figures import LOSS_PANELS, loss_curves_png
from facegen.render.snapshots import render_snapshots


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


def test_fixed_codes_are_fixed():
    assert torch.equal(fixed_codes(4, 3, seed=1), fixed_codes(4, 3, seed=1))
    assert not torch.equal(fixed_codes(4, 3, seed=1), fixed_codes(4, 3, seed=2))


def test_the_vae_losses_gain_the_critics_panel_only_when_it_trained_with_one():
    rows = [
        {"epoch": e}
        | {f"{p}_{t}": 1.0 / e for p in ("train", "val") for t in ("loss", "recon_loss", "kl_loss")}
        for e in (1, 2)
    ]
    critic_rows = [row | {"train_g_loss": 2.0, "train_d_loss": 1.2} for row in rows]
    widths = [
        Image.open(io.BytesIO(loss_curves_png(table, LOSS_PANELS["vae"], "VAE"))).size[0]
        for table in (rows, critic_rows)
    ]
    assert widths == [1500, 2000]  # 5 inches a panel at 100 dpi: three panels, then four


@pytest.fixture
def snapshot_dirs(tmp_path):
    for kind, model in (("vae", VAE(8)), ("gan", GAN(8))):
        folder = ModelDir(tmp_path / kind)
        save = folder.snapshot_writer(kind, VAEConfig())
        for epoch in (2, 4):
            save(epoch, model.eval())
        folder.save_final(kind, model, 4, VAEConfig(), {})
    return tmp_path


def test_render_snapshots_names_every_picture(snapshot_dirs):
    val = torch.randint(0, 256, (5, 1, 64, 64), dtype=torch.uint8)
    config = RenderConfig(steps=4, rows=3, samples=9)
    out = {}
    for kind in ("vae", "gan"):
        out |= dict(render_snapshots(kind, ModelDir(snapshot_dirs / kind), val, config))
    for epoch in (2, 4):
        for name in ("vae/vae_interpolation", "vae/vae_samples", "vae/vae_reconstruction"):
            assert f"{name}_E{epoch}.png" in out
        assert f"gan/gan_interpolation_E{epoch}.png" in out and f"gan/gan_samples_E{epoch}.png" in out
    walk = np.asarray(Image.open(io.BytesIO(out["vae/vae_interpolation_E4.png"])))
    assert walk.shape == (3 * (64 + PAD) + PAD, 4 * (64 + PAD) + PAD)  # rows x steps
    samples = np.asarray(Image.open(io.BytesIO(out["gan/gan_samples_E2.png"])))
    assert samples.shape == (3 * (64 + PAD) + PAD,) * 2  # 9 samples: 3 x 3
    assert Image.open(io.BytesIO(out["gan/gan_interpolation.gif"])).n_frames == 6


def write_tables(folder):
    """The tables export and evaluate write, as the render stage reads them."""
    losses = {
        "vae": [
            {"epoch": e}
            | {f"{p}_{t}": 1.0 / e for p in ("train", "val") for t in ("loss", "recon_loss", "kl_loss")}
            for e in (2, 4)
        ],
        "gan": [
            {"epoch": e, "d_loss_real": 0.5, "d_loss_fake": 0.4, "g_loss": 2.0, "d_real": 0.8, "d_fake": 0.2}
            for e in (2, 4)
        ],
    }
    for kind, rows in losses.items():
        (folder / f"{kind}_losses.csv").write_text(csv_text(rows))
        quality = [
            {"epoch": e, "swd": 50.0 / e, "face_rate": 0.2 * e / 4, "face_rate_se": 0.05} for e in (2, 4)
        ]
        (folder / f"{kind}_quality.csv").write_text(csv_text(quality))
    sets = {
        name: {"swd": 40.0, "swd_sd": 5.0, "face_rate": 0.8, "face_rate_sd": 0.03}
        for name in ("real_vs_real", "pca_gaussian")
    }
    write_json(folder / "report.json", {"sets": sets, "real": {"heldout_face_rate": 0.8}})


def test_render_all_draws_every_snapshot_the_loss_curves_and_the_comparison(snapshot_dirs, tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    write_tables(tables)
    faces = torch.randint(0, 256, (20, 1, 64, 64), dtype=torch.uint8)
    models = {kind: ModelDir(snapshot_dirs / kind) for kind in ("vae", "gan")}
    out = dict(
        render_all(
            models, Faces(faces, faces[:5], faces[5:]), tables, RenderConfig(steps=3, rows=2, samples=4)
        )
    )
    assert {
        "vae/losses.png",
        "gan/losses.png",
        COMPARISON,
        "vae/vae_samples_E4.png",
        "gan/gan_interpolation.gif",
    } <= set(out)
    comparison = Image.open(io.BytesIO(out[COMPARISON]))
    assert comparison.size == (1350, 900)  # 15 x 10 inches at 90 dpi
