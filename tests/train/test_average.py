"""The generator's weight average, with torch's AveragedModel."""

import torch

from facegen.models import VAE
from facegen.train.average import weight_average


def test_weight_average_follows_the_weights_at_its_decay_after_a_ramp():
    live = VAE(4).decoder
    average = weight_average(live, decay=0.75)
    average.update_parameters(live)  # the first update copies the weights
    assert torch.equal(average.module.fc.weight, live.fc.weight)
    before = average.module.fc.weight.clone()
    with torch.no_grad():
        live.fc.weight.add_(1.0)
    average.update_parameters(live)  # after 1 update: decay (1 + 1) / (10 + 1) = 2/11
    assert torch.allclose(average.module.fc.weight, before + 9 / 11)
    average.n_averaged.fill_(100)  # past the ramp: the decay itself
    before = average.module.fc.weight.clone()
    with torch.no_grad():
        live.fc.weight.add_(1.0)
    average.update_parameters(live)
    assert torch.allclose(average.module.fc.weight, before + 0.25 * (live.fc.weight - before))
    assert int(average.state_dict()["n_averaged"]) == 101  # a resume state holds the count
