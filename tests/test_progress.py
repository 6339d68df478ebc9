"""Where a long stage is: in a log (not a terminal) a line at most every so many seconds with
the step, the rate and the time the whole stage has left."""

import logging
import re

from facegen.progress import Progress


def test_a_log_gets_lines_with_the_step_the_rate_and_the_time_left(caplog):
    with (
        caplog.at_level(logging.INFO, logger="facegen"),
        Progress(40, "step", "gan", done=10, every=0) as progress,
    ):
        for _ in progress.over(range(3), desc="gan epoch 2/4"):
            pass
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3  # every step, at every=0
    assert re.fullmatch(r"gan epoch 2/4: 13/40 steps \(32%\), [\d.e+]+ steps/s, about .+ left", lines[-1])
    assert progress.done == 13  # a resumed run's steps count as done: the rate is this run's


def test_no_line_before_the_interval(caplog):
    with caplog.at_level(logging.INFO, logger="facegen"), Progress(1000, "batch", "real_faces") as progress:
        for _ in range(100):
            progress.advance()
    assert not caplog.records  # a line at most every 30 s
