"""Where a long stage is: tqdm's bar on a terminal; elsewhere (``dvc queue`` logs, CI) its
line as a log line at most every :data:`EVERY` seconds: the step, the rate, the time left.
(tqdm alone redraws its bar with carriage returns, useless in a file.)"""

from __future__ import annotations

import io
import logging
import sys

from tqdm.auto import tqdm

EVERY = 30.0  # seconds between log lines (at CK size a GAN epoch takes 4 minutes)

log = logging.getLogger("facegen")


class _LogLines(io.TextIOBase):
    """A text stream that logs each line tqdm draws."""

    def write(self, text: str) -> int:
        line = text.strip("\r\n ")
        if line:
            log.info("%s", line)
        return len(text)


def progress(total: int, unit: str, desc: str, done: int = 0, every: float = EVERY) -> tqdm:
    """A tqdm bar over ``total`` units of which ``done`` are done already (a resumed run's):
    on a terminal a bar, else a log line at most every ``every`` seconds; use as a context
    manager, ``update()`` per unit."""
    if sys.stderr.isatty():
        return tqdm(total=total, initial=done, desc=desc, unit=unit, dynamic_ncols=True)
    # tqdm's set_description appends ": " to a description; the first gets it here
    line = "{desc}{percentage:3.0f}% {n_fmt}/{total_fmt} [{elapsed} so far<{remaining} left, {rate_fmt}]"
    return tqdm(
        total=total,
        initial=done,
        desc=f"{desc}: ",
        unit=unit,
        file=_LogLines(),
        mininterval=every,
        bar_format=line,
    )
