import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

from facegen.config import GANConfig, Params, VAEConfig
from facegen.data.demo import orl_faces
from facegen.io import Faces
from facegen.models import ModelDir
from facegen.train import train_model
from facegen.train.resume import Resume, code_digest, fingerprint, tensor_digest


@pytest.fixture(scope="module")
def faces() -> Faces:
    images = torch.from_numpy(orl_faces()[:40, None].copy())
    return Faces(images[:32], images[32:], images[32:])


class Killed(Exception):
    """Stands for SIGKILL: training stops right after a snapshot and its resume state."""


def files(folder: Path) -> dict[str, str]:
    """The sha256 of every file under ``folder``: checkpoint, snapshots, DVCLive's log."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run(
    kind: str, config, folder: Path, faces: Faces, monkeypatch, kill_after: int | None = None
) -> dict[str, str]:
    """Train as the stage does, into ``folder``; raise Killed once the resume state of epoch
    ``kill_after`` is saved."""
    if kill_after is not None:
        save = Resume.save

        def save_then_die(self, epoch, state):
            save(self, epoch, state)
            if epoch == kill_after:
                raise Killed

        monkeypatch.setattr(Resume, "save", save_then_die)
    train_model(kind, faces, Params(**{kind: config}), ModelDir(folder / "out"), folder / "resume")
    return files(folder / "out")


SMALL = {"batch_size": 8, "latent_dim": 8, "device": "cpu", "snapshot_every": 1}
RUNS = {
    "vae": ("vae", VAEConfig(epochs=4, prior="fitted", hflip=True, lr_schedule="cosine", **SMALL)),
    "gan": ("gan", GANConfig(epochs=4, ema=0.6, diffaugment=True, lr_schedule="cosine", **SMALL)),
    "vae-dcgan-mixture-critic": (
        "vae",
        VAEConfig(
            epochs=3, architecture="dcgan", prior="mixture", prior_components=3, adversarial=0.3, **SMALL
        ),
    ),
}


@pytest.mark.parametrize("kind, config", RUNS.values(), ids=RUNS.keys())
def test_a_killed_run_resumes_to_the_same_bytes(tmp_path, faces, kind, config, caplog, monkeypatch):
    clean = run(kind, config, tmp_path / "clean", faces, monkeypatch)
    with monkeypatch.context() as patch, pytest.raises(Killed):
        run(kind, config, tmp_path / "killed", faces, patch, kill_after=2)
    # DVC deletes a stage's outputs before running it again.
    shutil.rmtree(tmp_path / "killed" / "out")
    with caplog.at_level(logging.INFO, logger="facegen"):
        resumed = run(kind, config, tmp_path / "killed", faces, monkeypatch)
    assert "resuming from epoch 2" in caplog.text
    assert f"{kind} epoch   1/" not in caplog.text and f"{kind} epoch   3/" in caplog.text
    assert (
        "checkpoint.pt" in clean and "live/metrics.json" in clean and "live/plots/images/samples.png" in clean
    )
    assert resumed == clean  # checkpoint, every snapshot, DVCLive's metrics and samples
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
    with caplog.at_level(logging.WARNING, logger="facegen"):
        assert Resume(tmp_path / "resume", "new", tmp_path / "snapshots").load() is None
    assert "the params, the prepared faces or the code changed" in caplog.text
    assert "starts from epoch 1" in caplog.text and not (tmp_path / "resume").exists()


@pytest.mark.parametrize("damage", ["truncate", "garble_record", "remove", "not_torch"])
def test_a_damaged_state_is_ignored_never_half_loaded(tmp_path, caplog, damage):
    save_state(tmp_path)
    state = next((tmp_path / "resume").glob("state_*.pt"))
    if damage == "truncate":
        state.write_bytes(state.read_bytes()[:100])
    elif damage == "garble_record":
        (tmp_path / "resume" / "state.json").write_text("{not json")
    elif damage == "remove":
        state.unlink()
    else:  # intact by its sha256, but no file torch can read
        state.write_bytes(b"not a torch file")
        record = json.loads((tmp_path / "resume" / "state.json").read_text())
        record["sha256"] = hashlib.sha256(b"not a torch file").hexdigest()
        (tmp_path / "resume" / "state.json").write_text(json.dumps(record))
    with caplog.at_level(logging.WARNING, logger="facegen"):
        assert Resume(tmp_path / "resume", "key", tmp_path / "snapshots").load() is None
    assert "ignoring the resume state" in caplog.text and caplog.records[-1].levelname == "WARNING"
    if damage == "not_torch":
        assert "cannot be read by this torch" in caplog.text


def test_the_key_changes_with_params_data_and_code():
    base = {"params": VAEConfig(), "data": tensor_digest(torch.zeros(2, 2)), "code": code_digest()}
    assert fingerprint(**base) == fingerprint(**base)
    assert fingerprint(**base) != fingerprint(**(base | {"params": VAEConfig(lr=1e-4)}))
    assert fingerprint(**base) != fingerprint(**(base | {"data": tensor_digest(torch.ones(2, 2))}))
    assert fingerprint(**base) != fingerprint(**(base | {"code": "other"}))
