import pytest
import torch

from facegen.models import GAN, VAE, Discriminator, checkpoint, from_checkpoint

BN = "eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True"
CONV3 = "kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)"
# The lab's module dump, written out by hand from its description, not from our code.
LAB_DUMP = f"""VAE(
  (encoder): Encoder(
    (layer1): ConvBNReLU(
      (conv): Conv2d(1, 16, {CONV3})
      (bn): BatchNorm2d(16, {BN})
      (relu): ReLU()
    )
    (layer2): ConvBNReLU(
      (conv): Conv2d(16, 32, {CONV3})
      (bn): BatchNorm2d(32, {BN})
      (relu): ReLU()
      (pool): AvgPool2d(kernel_size=2, stride=2, padding=0)
    )
    (layer3): ConvBNReLU(
      (conv): Conv2d(32, 64, {CONV3})
      (bn): BatchNorm2d(64, {BN})
      (relu): ReLU()
      (pool): AvgPool2d(kernel_size=2, stride=2, padding=0)
    )
    (fc): Linear(in_features=16384, out_features=128, bias=True)
  )
  (decoder): Decoder(
    (fc): Linear(in_features=64, out_features=16384, bias=True)
    (layer1): BNReLUConv(
      (bn): BatchNorm2d(64, {BN})
      (relu): ReLU()
      (conv): Conv2d(64, 32, {CONV3})
      (pool): UpsamplingNearest2d(scale_factor=2.0, mode='nearest')
    )
    (layer2): BNReLUConv(
      (bn): BatchNorm2d(32, {BN})
      (relu): ReLU()
      (conv): Conv2d(32, 16, {CONV3})
      (pool): UpsamplingNearest2d(scale_factor=2.0, mode='nearest')
    )
    (layer3): BNReLUConv(
      (bn): BatchNorm2d(16, {BN})
      (relu): ReLU()
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


def test_reparameterize_uses_given_noise():
    vae = VAE(latent_dim=3)
    mu, logvar = torch.tensor([[1.0, 2.0, 3.0]]), torch.log(torch.tensor([[4.0, 1.0, 0.25]]))
    z = vae.reparameterize(mu, logvar, noise=torch.ones(1, 3))
    assert torch.allclose(z, torch.tensor([[3.0, 3.0, 3.5]]))  # mu + sigma * 1


@pytest.mark.parametrize("kind, cls", [("vae", VAE), ("gan", GAN)])
def test_checkpoint_rebuilds_the_same_model(kind, cls):
    torch.manual_seed(1)
    model = cls(latent_dim=5).eval()
    ckpt = checkpoint(kind, model, epoch=3, config={"lr": 0.1})
    assert ckpt["epoch"] == 3 and ckpt["kind"] == kind and ckpt["config"] == {"lr": 0.1}
    rebuilt = from_checkpoint(ckpt)
    assert isinstance(rebuilt, cls) and not rebuilt.training
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, rebuilt.state_dict()[name]), name
