"""Where a long stage is: in a log (not a terminal) tqdm's line at most every so many seconds,
with the step, the rate and the time the whole stage has left."""

import logging
import re

from facegen.progress import progress


def test_a_log_gets_lines_with_the_step_the_rate_and_the_time_left(caplog):
    with (
        caplog.at_level(logging.INFO, logger="facegen"),
        progress(40, "step", "gan", done=10, every=0) as bar,
    ):
        for _ in range(3):
            bar.set_description("gan epoch 2/4", refresh=False)
            bar.update()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) >= 3  # the start, every step at every=0, the end
    last = lines[-1]
    assert last.startswith("gan epoch 2/4:") and " 13/40 " in last, last
    assert re.search(r"<\d\d:\d\d left, +[\d.]+(step/s|s/step)\]$", last), last  # the time left, the rate


def test_no_line_between_the_first_and_the_interval(caplog):
    with caplog.at_level(logging.INFO, logger="facegen"), progress(1000, "batch", "real_faces") as bar:
        for _ in range(100):
            bar.update()
        during = len(caplog.records)
    assert during == 1  # the opening line only: the next comes after 30 s
