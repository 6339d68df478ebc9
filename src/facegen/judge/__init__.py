"""Judging: how close generated faces come to real ones, in numbers, next to baselines.

One vocabulary: the **reference** is the real faces everything is compared with (the
training pool, its halves, the held-out people: :mod:`~facegen.judge.reference`); a
**contender** is a set of faces compared with it over **draws** (a model's samples, the real
floor, the PCA Gaussian); the **metrics** are plain maths (:mod:`~facegen.judge.swd`,
:mod:`~facegen.judge.neighbours`, :mod:`~facegen.judge.c2st`); the **face judges** are dlib's
detector and identity network, trained by others on photographs
(:mod:`~facegen.judge.face_judges`), whose verdicts :mod:`~facegen.judge.likeness` turns into
numbers; :mod:`~facegen.judge.evaluate` runs it all, and :mod:`~facegen.judge.report` says
what goes in the headline and what in the report.

Judging imports the models and training's held-out loss, never rendering.
"""

from facegen.judge.evaluate import Evaluation, evaluate_all
from facegen.judge.face_judges import FaceJudges
from facegen.judge.likeness import Likeness, judge_real
from facegen.judge.reference import Reference

__all__ = ["Evaluation", "FaceJudges", "Likeness", "Reference", "evaluate_all", "judge_real"]
