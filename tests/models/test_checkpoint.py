import pytest
import torch

from facegen import FacegenError
from facegen.config import TrainConfig, VAEConfig
from facegen.models import GAN, VAE
from facegen.models.checkpoint import ModelDir, checkpoint, from_checkpoint, load_checkpoint
from facegen.runtime import make_runtime


@pytest.mark.parametrize("kind, cls", [("vae", VAE), ("gan", GAN)])
def test_checkpoint_rebuilds_the_same_model_bit_for_bit(kind, cls):
    torch.manual_seed(1)
    model = cls(latent_dim=5).eval()
    ckpt = checkpoint(kind, model, epoch=3, config={"lr": 0.1})
    assert ckpt["epoch"] == 3 and ckpt["kind"] == kind and ckpt["config"] == {"lr": 0.1}
    rebuilt = from_checkpoint(ckpt)
    assert isinstance(rebuilt, cls) and not rebuilt.training
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, rebuilt.state_dict()[name]), name


def test_model_dir_owns_the_file_names(tmp_path):
    folder = ModelDir(tmp_path / "vae")
    (folder.snapshots_path).mkdir(parents=True)
    (folder.snapshots_path / "epoch_0099.pt").write_bytes(b"stale")  # from an earlier run
    save = folder.snapshot_writer("vae", VAEConfig(latent_dim=4))
    model = VAE(4).eval()
    for epoch in (10, 2):
        save(epoch, model)
    assert [(e, p.name) for e, p in folder.snapshots()] == [(2, "epoch_0002.pt"), (10, "epoch_0010.pt")]
    trained_with = make_runtime("cpu", TrainConfig(precision="bf16")).describe()
    folder.save_final("vae", model, 2, VAEConfig(latent_dim=4), trained_with)
    final = torch.load(folder.checkpoint_path, weights_only=True)
    assert final["epoch"] == 2 and final["config"]["latent_dim"] == 4
    assert final["trained_with"] == trained_with  # a user loading it can tell how it was trained
    assert isinstance(load_checkpoint(folder.checkpoint_path), VAE)
    assert sorted(p.name for p in folder.path.iterdir()) == ["checkpoint.pt", "snapshots"]
    assert folder.live_path == folder.path / "live"


def test_snapshots_hold_float16_weights_and_float32_statistics_and_draw_the_same_faces(tmp_path):
    torch.manual_seed(0)
    z = torch.randn(16, 64)
    for kind, model in (("vae", VAE(64, prior_components=3).eval()), ("gan", GAN(64).eval())):
        model.apply(lambda m: m.reset_running_stats() if isinstance(m, torch.nn.BatchNorm2d) else None)
        full, snapshot = tmp_path / f"{kind}_full.pt", tmp_path / f"{kind}_snapshot.pt"
        torch.save(checkpoint(kind, model, 1, {}), full)
        torch.save(ckpt := checkpoint(kind, model, 1, {}, snapshot=True), snapshot)
        assert snapshot.stat().st_size < 0.52 * full.stat().st_size, kind  # GAN: also no discriminator
        parameters = {name for name, _ in model.named_parameters()}
        for name, tensor in ckpt["state_dict"].items():
            assert tensor.dtype == (
                torch.float16 if name in parameters else model.state_dict()[name].dtype
            ), name
        if kind == "vae":  # the prior, as fitted
            assert torch.equal(ckpt["state_dict"]["prior_scale"], model.prior_scale)
        with torch.no_grad():
            expected = model.generate(z).clamp(0, 1)
            drawn = load_checkpoint(snapshot).generate(z).clamp(0, 1)
        # In gray levels of the rendered PNGs: float16's 11 bits of mantissa.
        levels = (expected - drawn).abs() * 255
        assert levels.max() < 1.0 and levels.mean() < 0.1, kind


def test_a_checkpoint_of_another_model_is_refused():
    ckpt = checkpoint("vae", VAE(4), 1, {})
    ckpt["state_dict"].pop("decoder.fc.weight")
    with pytest.raises(
        FacegenError, match=r"^a vae checkpoint's weights do not fit .* 'decoder\.fc\.weight'"
    ):
        from_checkpoint(ckpt)
