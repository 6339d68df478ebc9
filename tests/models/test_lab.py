"""The lab's architecture: the printed tree is its module dump; shapes and forward passes."""

import torch

from facegen.models import GAN, VAE
from facegen.models.lab import Discriminator

BN = "eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True"
CONV3 = "kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)"
# The lab's module dump, typed from the lab's print, not from our code (today's torch adds
# `bias=True` to BatchNorm2d and quotes `mode='nearest'`).
LAB_DUMP = f"""VAE(
  (encoder): Encoder(
    (layer1): ConvBNReLU(
      (conv): Conv2d(1, 16, {CONV3})
      (bn): BatchNorm2d(16, {BN})
      (relu): ReLU(inplace=True)
    )
    (layer2): ConvBNReLU(
      (conv): Conv2d(16, 32, {CONV3})
      (bn): BatchNorm2d(32, {BN})
      (relu): ReLU(inplace=True)
      (pool): AvgPool2d(kernel_size=2, stride=2, padding=0)
    )
    (layer3): ConvBNReLU(
      (conv): Conv2d(32, 64, {CONV3})
      (bn): BatchNorm2d(64, {BN})
      (relu): ReLU(inplace=True)
      (pool): AvgPool2d(kernel_size=2, stride=2, padding=0)
    )
    (fc): Linear(in_features=16384, out_features=128, bias=True)
  )
  (decoder): Decoder(
    (fc): Linear(in_features=64, out_features=16384, bias=True)
    (layer1): BNReLUConv(
      (bn): BatchNorm2d(64, {BN})
      (relu): ReLU(inplace=True)
      (conv): Conv2d(64, 32, {CONV3})
      (pool): UpsamplingNearest2d(scale_factor=2.0, mode='nearest')
    )
    (layer2): BNReLUConv(
      (bn): BatchNorm2d(32, {BN})
      (relu): ReLU(inplace=True)
      (conv): Conv2d(32, 16, {CONV3})
      (pool): UpsamplingNearest2d(scale_factor=2.0, mode='nearest')
    )
    (layer3): BNReLUConv(
      (bn): BatchNorm2d(16, {BN})
      (relu): ReLU(inplace=True)
      (conv): Conv2d(16, 1, {CONV3})
    )
  )
)"""


def test_vae_prints_the_lab_dump():
    assert str(VAE(latent_dim=64)) == LAB_DUMP


def test_gan_is_decoder_generator_and_encoder_discriminator():
    text = str(GAN(latent_dim=64))
    generator_part = text.split("(discriminator)")[0]
    # The generator is the VAE's Decoder; the discriminator the encoder's layers + one logit.
    assert "(generator): Decoder(" in generator_part
    assert LAB_DUMP.split("(decoder): Decoder(")[1].split("\n  )\n)")[0] in generator_part
    assert "(discriminator): Discriminator(" in text
    assert "(fc): Linear(in_features=16384, out_features=1, bias=True)" in text


def test_shapes():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 64, 64)
    vae = VAE(latent_dim=8)
    x_hat, mu, logvar = vae(x)
    assert x_hat.shape == (4, 1, 64, 64)
    assert mu.shape == logvar.shape == (4, 8)
    assert Discriminator()(x).shape == (4, 1)
    images = GAN(latent_dim=8)(torch.randn(4, 8))
    assert images.shape == (4, 1, 64, 64)
    assert images.min() > 0 and images.max() < 1  # GAN images are squashed into (0, 1)


def test_forward_uses_the_given_noise():
    vae = VAE(latent_dim=3).eval()
    x = torch.rand(1, 1, 64, 64)
    mu, logvar = vae.encode(x)
    x_hat, mu_out, logvar_out = vae(x, noise=torch.ones(1, 3))
    assert torch.equal(mu, mu_out) and torch.equal(logvar, logvar_out)
    assert torch.allclose(x_hat, vae.decoder(mu + torch.exp(0.5 * logvar)))  # z = mu + sigma * 1
    assert not torch.allclose(vae(x)[0], x_hat)  # without noise, a fresh draw


def test_generate_is_the_decoder_for_the_vae_and_a_sigmoid_for_the_gan():
    z = torch.randn(2, 4)
    vae, gan = VAE(4).eval(), GAN(4).eval()
    assert torch.equal(vae.generate(z), vae.decoder(z))
    assert torch.equal(gan.generate(z), torch.sigmoid(gan.generator(z)))
    assert torch.equal(gan(z), gan.generate(z))


def test_in_place_relu_changes_no_number():
    """The lab prints ReLU(inplace=True); in place or not, training computes the same."""
    torch.manual_seed(0)
    model = VAE(8)
    copy = VAE(8)
    copy.load_state_dict(model.state_dict())
    for module in copy.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    x, noise = torch.rand(4, 1, 64, 64), torch.randn(4, 8)
    for m in (model, copy):
        out, mu, _ = m(x, noise)
        (out.square().sum() + mu.sum()).backward()
    assert torch.equal(model(x, noise)[0], copy(x, noise)[0])
    for (name, a), b in zip(model.named_parameters(), copy.parameters(), strict=True):
        assert torch.equal(a.grad, b.grad), name


def test_a_fitted_prior_moves_samples_to_where_the_codes_are_and_prints_nothing():
    torch.manual_seed(0)
    vae = VAE(latent_dim=3).eval()
    codes = torch.randn(2000, 3) @ torch.tensor([[2.0, 0, 0], [0.5, 1.0, 0], [0, 0, 0.1]]) + 5.0
    vae.fit_prior(codes)
    z = torch.randn(4, 3)
    expected = vae.decoder(vae.prior_mean + z @ vae.prior_scale.T)
    assert torch.allclose(vae.generate(z), expected)
    assert torch.allclose(vae.prior_mean, codes.mean(0))
    assert torch.allclose(vae.prior_scale @ vae.prior_scale.T, torch.cov(codes.T), atol=1e-4)
    assert "prior" not in str(vae)  # buffers: the printed tree stays the lab's
