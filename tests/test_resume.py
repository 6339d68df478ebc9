import logging
import shutil

import pytest
import torch

from facegen.checkpoints import ModelDir
from facegen.config import GANConfig, VAEConfig
from facegen.demo import orl_faces
from facegen.resume import Resume, code_digest, fingerprint, tensor_digest
from facegen.train.gan import train_gan
from facegen.train.vae import train_vae


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return torch.from_numpy(orl_faces()[:40, None].copy())


class Killed(Exception):
    """Stands for SIGKILL: training stops right after a snapshot and its resume state."""


def run(kind: str, config, folder, faces, kill_after: int | None = None):
    """Train as the stage does, in ``folder``; raise Killed once the resume state of epoch
    ``kill_after`` is saved."""
    out = ModelDir(folder / "out")
    writer = out.snapshot_writer(kind, config)
    resume = Resume(folder / "resume", "key", out.snapshots_path)
    if kill_after is not None:
        save = resume.save

        def save_then_die(epoch, state):
            save(epoch, state)
            if epoch == kill_after:
                raise Killed

        resume.save = save_then_die
    if kind == "vae":
        model, history = train_vae(faces[:32], faces[32:], config, writer, resume=resume)
    else:
        model, history = train_gan(faces, config, writer, resume=resume)
    out.save_final(kind, model, history, config)
    resume.clear()
    return out


@pytest.mark.parametrize(
    "kind, config",
    [
        ("vae", VAEConfig(epochs=4, batch_size=8, latent_dim=8, device="cpu", snapshot_every=1, prior="fitted", hflip=True, lr_schedule="cosine")),
        ("gan", GANConfig(epochs=4, batch_size=8, latent_dim=8, device="cpu", snapshot_every=1, ema=0.9, diffaugment=True, lr_schedule="cosine")),
        ("vae", VAEConfig(epochs=3, batch_size=8, latent_dim=8, device="cpu", snapshot_every=1, architecture="dcgan")),
        ("gan", GANConfig(epochs=3, batch_size=8, latent_dim=8, device="cpu", snapshot_every=1, ema=0.9, architecture="dcgan")),
    ],
    ids=["vae", "gan", "vae-dcgan", "gan-dcgan"],
)  # fmt: skip
def test_a_killed_run_resumes_to_the_same_bytes(tmp_path, faces, kind, config, caplog):
    clean = run(kind, config, tmp_path / "clean", faces)
    with pytest.raises(Killed):
        run(kind, config, tmp_path / "killed", faces, kill_after=2)
    # DVC deletes a stage's outputs before running it again.
    shutil.rmtree(tmp_path / "killed" / "out")
    with caplog.at_level(logging.INFO, logger="facegen"):
        resumed = run(kind, config, tmp_path / "killed", faces)
    assert "resuming from epoch 2" in caplog.text
    for name in ("checkpoint.pt", "history.json"):
        assert (clean.path / name).read_bytes() == (resumed.path / name).read_bytes(), name
    assert [p.name for _, p in clean.snapshots()] == [p.name for _, p in resumed.snapshots()]
    for (_, a), (_, b) in zip(clean.snapshots(), resumed.snapshots(), strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert not (tmp_path / "killed" / "resume").exists()  # removed on completion


def save_state(folder, key="key", epoch=2):
    snapshots = folder / "snapshots"
    snapshots.mkdir(parents=True)
    (snapshots / "epoch_0002.pt").write_bytes(b"snapshot")
    resume = Resume(folder / "resume", key, snapshots)
    resume.save(epoch, {"history": [{"epoch": 1.0}, {"epoch": 2.0}]})
    return resume


def test_the_state_comes_back_with_its_snapshots(tmp_path):
    save_state(tmp_path)
    (tmp_path / "snapshots" / "epoch_0002.pt").unlink()  # DVC removed the outputs
    state = Resume(tmp_path / "resume", "key", tmp_path / "snapshots").load()
    assert state["history"][-1] == {"epoch": 2.0}
    assert (tmp_path / "snapshots" / "epoch_0002.pt").read_bytes() == b"snapshot"


def test_a_state_of_other_params_data_or_code_is_ignored_with_the_reason(tmp_path, caplog):
    save_state(tmp_path, key="old")
    with caplog.at_level(logging.INFO, logger="facegen"):
        assert Resume(tmp_path / "resume", "new", tmp_path / "snapshots").load() is None
    assert "the params, the prepared faces or the code changed" in caplog.text
    assert "starts from epoch 1" in caplog.text and not (tmp_path / "resume").exists()


@pytest.mark.parametrize("damage", ["truncate", "garble_record", "remove"])
def test_a_damaged_state_is_ignored_never_half_loaded(tmp_path, caplog, damage):
    save_state(tmp_path)
    state = next((tmp_path / "resume").glob("state_*.pt"))
    if damage == "truncate":
        state.write_bytes(state.read_bytes()[:100])
    elif damage == "garble_record":
        (tmp_path / "resume" / "state.json").write_text("{not json")
    else:
        state.unlink()
    with caplog.at_level(logging.INFO, logger="facegen"):
        assert Resume(tmp_path / "resume", "key", tmp_path / "snapshots").load() is None
    assert "ignoring the resume state" in caplog.text


def test_the_key_changes_with_params_data_and_code():
    base = {"params": VAEConfig(), "data": tensor_digest(torch.zeros(2, 2)), "code": code_digest()}
    assert fingerprint(**base) == fingerprint(**base)
    assert fingerprint(**base) != fingerprint(**(base | {"params": VAEConfig(lr=1e-4)}))
    assert fingerprint(**base) != fingerprint(**(base | {"data": tensor_digest(torch.ones(2, 2))}))
    assert fingerprint(**base) != fingerprint(**(base | {"code": "other"}))
