"""Resume state: what a training stage needs to carry on after it was killed (Ctrl-C, the
out-of-memory killer, a reboot) from its last snapshot instead of from epoch 1.

The state lives in a folder of its own (``.resume/<stage>`` by default, git- and
DVC-ignored), not among the stage's outputs: DVC deletes a stage's outputs before running
it, and ``persist: true`` outputs would keep the stage out of DVC's run cache (and leave
outputs that look complete after a kill). The folder holds

    state_XXXX.pt   after epoch XXXX: weights, optimizer and scheduler states, random
                    generator states, the epochs logged so far, ... (full precision)
    state.json      the key the state belongs to, its epoch, file and sha256
    snapshots/      hard links to the snapshot files written so far (DVC deletes the
                    originals before the rerun; the links keep their bytes)

The key is a hash of everything that decides the result: the stage's params, the prepared
faces and the code (every loaded ``facegen`` module and the stage script). A state with
another key, an unreadable ``state.json``, a ``state.pt`` whose hash does not match or that
torch cannot read is discarded with a warning that says why, and training starts from epoch
1; the folder is removed when the stage completes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import pickle
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import torch

from facegen.io import read_json, torch_bytes, write_bytes, write_json

log = logging.getLogger(__name__)


def fingerprint(**parts: Any) -> str:
    """sha256 of a JSON-able description (params as dicts, digests as strings)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def code_digest() -> str:
    """sha256 over the source of every loaded ``facegen`` module and of the running script."""
    files = {Path(m.__file__) for name, m in sys.modules.items() if name.startswith("facegen") and m.__file__}
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__file__", None):
        files.add(Path(main.__file__))
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name + str(p)):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def tensor_digest(*tensors: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


class Resume:
    """The resume folder of one training stage, for the state with ``key``, keeping links to
    the snapshots written into ``snapshots``."""

    def __init__(self, folder: str | os.PathLike, key: str, snapshots: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.key = key
        self.snapshots = Path(snapshots)

    @property
    def _record(self) -> Path:
        return self.folder / "state.json"

    def load(self) -> dict[str, Any] | None:
        """The saved state, its snapshots linked back into place; None (and the reason,
        logged) when there is none that belongs to this run."""
        for stale in self.folder.glob(".*.tmp"):  # a save killed midway (SIGKILL)
            stale.unlink()
        if not self._record.is_file():
            return None
        try:
            record = read_json(self._record)
            key, epoch, path, digest = (
                record["key"],
                record["epoch"],
                self.folder / record["file"],
                record["sha256"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return self._ignore("its record state.json is unreadable")
        if key != self.key:
            return self._ignore("the params, the prepared faces or the code changed since it was saved")
        data = path.read_bytes() if path.is_file() else None  # read once: checked, then loaded
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            return self._ignore(
                f"{path.name} is missing or does not match its recorded sha256 (truncated or corrupt)"
            )
        try:  # tensors, numbers and containers of them only
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
            return self._ignore(f"{path.name} cannot be read by this torch ({type(exc).__name__}: {exc})")
        links = sorted((self.folder / "snapshots").glob("*.pt"))
        self.snapshots.mkdir(parents=True, exist_ok=True)
        for link in links:
            _link(link, self.snapshots / link.name)
        log.info("resuming from epoch %d (state in %s)", epoch, self.folder)
        return state

    def save(self, epoch: int, state: dict[str, Any]) -> None:
        """Save ``state`` after ``epoch`` (atomically), with links to every snapshot so far."""
        links = self.folder / "snapshots"
        links.mkdir(parents=True, exist_ok=True)
        for snapshot in self.snapshots.glob("*.pt"):
            if not (links / snapshot.name).exists():
                _link(snapshot, links / snapshot.name)
        path = self.folder / f"state_{epoch:04d}.pt"
        data = torch_bytes(state)
        write_bytes(path, data)
        # The record is switched to the new file only once it is complete, then older files
        # go: a kill at any point leaves a record and the file it names, whole.
        record = {
            "key": self.key,
            "epoch": epoch,
            "file": path.name,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        write_json(self._record, record)
        for old in self.folder.glob("state_*.pt"):
            if old != path:
                old.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove the folder, and its parent (``.resume``) if that is left empty."""
        shutil.rmtree(self.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.folder.parent.rmdir()

    def _ignore(self, reason: str) -> None:
        log.warning("ignoring the resume state in %s: %s; training starts from epoch 1", self.folder, reason)
        self.clear()
        return None


def _link(source: Path, target: Path) -> None:
    """A hard link (no copy, and it outlives the deletion of ``source``), else a copy."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
