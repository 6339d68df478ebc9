"""Where a long stage is: on a terminal a bar (tqdm), elsewhere (``dvc queue`` logs, CI, a
file) a log line at least every :data:`EVERY` seconds, each with the step, the rate and the
time the whole stage has left. tqdm writes nothing useful to a file (its bar is redrawn with
carriage returns, and ``disable=None`` turns it off), so the lines are this module's own."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
EVERY = 30.0  # seconds between log lines (at CK size a GAN epoch takes 4 minutes)

log = logging.getLogger("facegen")


class Progress:
    """``total`` units of work of which ``done`` are done already (a resumed run's); use as
    a context manager, call :meth:`advance` per unit (or wrap an iterable in :meth:`over`)."""

    def __init__(self, total: int, unit: str, desc: str, done: int = 0, every: float = EVERY) -> None:
        self.total, self.unit, self.desc, self.done, self.every = total, unit, desc, done, every
        self.first, self.started = done, time.monotonic()
        self.last_line = self.started
        bar = sys.stderr.isatty()
        self.bar = tqdm(total=total, initial=done, desc=desc, unit=unit, dynamic_ncols=True) if bar else None

    def advance(self, count: int = 1, desc: str | None = None) -> None:
        self.done += count
        if desc is not None:
            self.desc = desc
        if self.bar is not None:
            self.bar.set_description(self.desc, refresh=False)
            self.bar.update(count)
        elif time.monotonic() - self.last_line >= self.every:
            self.last_line = time.monotonic()
            log.info("%s", self.line())

    def over(self, items: Iterable[T], desc: str | None = None) -> Iterator[T]:
        """Each item of ``items``, one unit each, under ``desc``."""
        for item in items:
            yield item
            self.advance(desc=desc)

    def line(self) -> str:
        """``gan epoch 3/10: 1200/4480 steps (27 %), 4.9 steps/s, about 11 min left``"""
        seconds = time.monotonic() - self.started
        rate = (self.done - self.first) / seconds if seconds > 0 else 0.0
        left = f"about {_duration((self.total - self.done) / rate)} left" if rate > 0 else "time left unknown"
        share = self.done / self.total if self.total else 1.0
        return (
            f"{self.desc}: {self.done}/{self.total} {self.unit}s ({share:.0%}), "
            f"{rate:.3g} {self.unit}s/s, {left}"
        )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
