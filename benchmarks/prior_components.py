"""Which prior should a trained VAE sample from? The prior is fitted after training to the
posterior means of the training faces, so one trained VAE can be scored under many priors
without training again: its own (as trained), the single Gaussian (``vae.prior: fitted``)
and mixtures of each ``--components`` count (``vae.prior: mixture``), each scored with
``evaluate``'s judges (SWD, precision and recall, memorisation, the two-sample test against
the training pool) on ``--draws`` draws from ``--first-draw`` on: draws 100 on are ones
that the reported numbers (draws 0 to 7) never use.

    # in a repository after `dvc repro` of a dcgan VAE (FER2013: about 6 minutes on 2 cores)
    python -m benchmarks.prior_components models/vae/checkpoint.pt --components 32,64,128,256,512

docs/models.md#choosing-the-ck-commands-vae-on-fer2013 has what it measured on FER2013.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import torch

from facegen.config import load_params
from facegen.io import load_prepared
from facegen.judge.evaluate import Contender, model_sampler, score_draws
from facegen.judge.reference import Reference
from facegen.models import VAE, from_checkpoint, read_checkpoint
from facegen.runtime import CPU
from facegen.train.vae import posterior_means

COLUMNS = ("swd", "precision", "recall", "memorisation_ratio", "c2st")


def refitted(trained: VAE, components: int, codes: torch.Tensor, seed: int) -> VAE:
    """``trained``'s encoder and decoder under a prior fitted to ``codes`` (N, latent_dim): a
    mixture of ``components`` Gaussians (EM seeded with ``seed``, as training seeds it with
    ``vae.seed``), or one Gaussian with 0."""
    model = VAE(trained.latent_dim, trained.architecture, components).eval()
    networks = {k: v for k, v in trained.state_dict().items() if not k.startswith("prior")}
    model.load_state_dict(networks, strict=False)
    if components:
        model.fit_mixture(codes, seed)
    else:
        model.fit_prior(codes)
    return model


def score(model: VAE, reference: Reference, draws: range) -> dict[str, list[float]]:
    """Each judge's value per draw, for ``reference.n`` samples of fresh codes per draw,
    scored as ``evaluate`` scores its sets (no face judges)."""
    contender = Contender(model_sampler(model, reference.config.seed))  # evaluate's codes
    rows = score_draws(reference, {"prior": contender}, None, draws=draws)["prior"]
    return {k: [row[k] for row in rows] for k in COLUMNS}


def priors(
    trained: VAE, codes: torch.Tensor, components: list[int], seed: int
) -> dict[str, Callable[[], VAE]]:
    """The priors to compare, by name, each built when it is scored."""
    made: dict[str, Callable[[], VAE]] = {"as trained": lambda: trained.eval()}
    made["one Gaussian"] = lambda: refitted(trained, 0, codes, seed)
    for count in components:
        made[f"mixture of {count}"] = lambda count=count: refitted(trained, count, codes, seed)
    return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", help="a VAE's checkpoint.pt")
    parser.add_argument("--data", default="data/prepared", help="the prepared faces it trained on")
    parser.add_argument("--params", default="params.yaml", help="whose evaluate section judges")
    parser.add_argument("--components", default="32,512", help="mixture sizes, comma-separated")
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--first-draw", type=int, default=100)
    args = parser.parse_args(argv)
    faces = load_prepared(args.data)
    reference = Reference(faces, load_params(args.params).evaluate)
    ckpt = read_checkpoint(args.checkpoint)
    trained = from_checkpoint(ckpt)
    codes = posterior_means(trained, faces.train, CPU)  # in float32, where training may use bf16
    draws = range(args.first_draw, args.first_draw + args.draws)
    print(f"| prior | {' | '.join(COLUMNS)} |\n|---|{'---|' * len(COLUMNS)}")
    components = [int(c) for c in args.components.split(",")]
    for name, make in priors(trained, codes, components, ckpt["config"].get("seed", 0)).items():
        values = score(make(), reference, draws)
        cells = (f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" for v in values.values())
        print(f"| {name} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
