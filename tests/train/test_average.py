"""The generator's weight average."""

import torch

from facegen.models import VAE
from facegen.train.average import WeightAverage


def test_weight_average_follows_the_weights_at_its_decay_after_a_ramp():
    live = VAE(4).decoder
    average = WeightAverage(live, decay=0.75)
    before = average.average.fc.weight.clone()
    with torch.no_grad():
        live.fc.weight.add_(1.0)
    average.update(live)  # first update: decay (1 + 1) / (10 + 1) = 2/11
    assert torch.allclose(average.average.fc.weight, before + 9 / 11)
    average.updates = 100  # past the ramp: the decay itself
    before = average.average.fc.weight.clone()
    with torch.no_grad():
        live.fc.weight.add_(1.0)
    average.update(live)
    assert torch.allclose(average.average.fc.weight, before + 0.25 * (live.fc.weight - before))
