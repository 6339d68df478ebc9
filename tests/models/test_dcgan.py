"""The dcgan architecture, and the registry that builds either in both models."""

import dataclasses

import pytest
import torch

from facegen.config import ModelTrainingConfig
from facegen.models import ARCHITECTURES, GAN, VAE
from facegen.models.dcgan import Decoder, Discriminator, Encoder
from facegen.runtime import Runtime


def test_every_architecture_is_a_value_of_the_architecture_keys():
    field = next(f for f in dataclasses.fields(ModelTrainingConfig) if f.name == "architecture")
    allowed, _ = field.metadata["rule"]
    assert all(allowed(name) for name in ARCHITECTURES) and not allowed("resnet")
    assert field.default == "lab"


def test_shapes_and_what_sees_the_whole_face():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 64, 64)
    assert Encoder(16)(x).shape == (4, 16)
    assert Discriminator()(x).shape == (4, 1)
    assert Decoder(8)(torch.randn(4, 8)).shape == (4, 1, 64, 64)
    # Every logit depends on every pixel: the 4 x 4 features before fc see the whole face,
    # where the lab's see about 10 pixels.
    x.requires_grad_(True)
    Discriminator().eval()(x)[0].sum().backward()  # eval: batch norm mixes no faces
    assert (x.grad[0] != 0).float().mean() > 0.99 and (x.grad[1:] == 0).all()


def test_the_generator_grows_by_resize_convolution_without_transposed_convolutions():
    generator = Decoder(64)
    kinds = {type(m).__name__ for m in generator.modules()}
    assert "ConvTranspose2d" not in kinds and "Upsample" in kinds
    text = str(VAE(64, "dcgan"))
    assert "(encoder): Encoder(" in text and "DownBlock" in text and "UpBlock" in text
    assert "LeakyReLU(negative_slope=0.2, inplace=True)" in text


def test_both_models_build_either_architecture():
    for name in ARCHITECTURES:
        vae, gan = VAE(8, name).eval(), GAN(8, name).eval()
        assert vae.architecture == gan.architecture == name
        z = torch.randn(3, 8)
        assert torch.equal(vae.generate(z), vae.decoder(z))
        images = gan.generate(z)
        assert images.shape == (3, 1, 64, 64) and images.min() > 0 and images.max() < 1
        x_hat, mu, logvar = vae(torch.rand(2, 1, 64, 64))
        assert x_hat.shape == (2, 1, 64, 64) and mu.shape == logvar.shape == (2, 8)
    assert isinstance(GAN(8, "dcgan").discriminator, Discriminator)
    with pytest.raises(KeyError):
        VAE(8, "resnet")


def test_channels_last_and_bf16_compute_the_same_faces_up_to_their_rounding():
    torch.manual_seed(0)
    gan = GAN(16, "dcgan").eval()
    z = torch.randn(8, 16)
    with torch.no_grad():
        expected = gan.generate(z)
        nhwc = Runtime(torch.device("cpu"), channels_last=True).place(GAN(16, "dcgan"))
        nhwc.load_state_dict(gan.state_dict())
        # fp32 kernels of another memory layout sum in another order: 1e-5 of a gray level range
        assert torch.allclose(nhwc.eval().generate(z), expected, atol=1e-5)
        with Runtime(torch.device("cpu"), bf16=True).autocast():
            low = gan.generate(z).float()
    # bf16 keeps 8 bits of mantissa: through 6 layers, about 2 % of the [0, 1] range at most
    assert (low - expected).abs().max() < 0.05


def test_a_mixture_prior_lives_in_buffers_and_is_rebuilt_from_its_checkpoint():
    from facegen.models.checkpoint import checkpoint, from_checkpoint

    torch.manual_seed(0)
    vae = VAE(4, "dcgan", prior_components=3).eval()
    codes = torch.randn(300, 4) + torch.repeat_interleave(torch.tensor([-6.0, 0.0, 6.0]), 100)[:, None]
    vae.fit_mixture(codes, seed=0)
    assert sorted(vae.prior_means[:, 0].round().tolist()) == [-6.0, 0.0, 6.0]
    z = torch.randn(5, 4)
    assert torch.equal(vae.generate(z), vae.decoder(vae.prior_codes(z)))
    rebuilt = from_checkpoint(checkpoint("vae", vae, 1, {}))
    assert rebuilt.prior_components == 3 and torch.equal(rebuilt.generate(z), vae.generate(z))
    assert "prior_weights" not in VAE(4).state_dict()  # the lab's default keeps its buffers
    assert "prior" not in str(vae)


def test_the_discriminator_sees_faces_centred_at_zero():
    # [0, 1] faces reach the first convolution as [-1, 1]: 2x - 1
    discriminator = Discriminator()
    seen = []
    discriminator.layer1.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    x = torch.rand(2, 1, 64, 64)
    discriminator(x)
    assert torch.equal(seen[0], 2 * x - 1)


def test_the_reconstruction_head_redraws_faces_at_half_size_from_the_8x8_features():
    discriminator = Discriminator(recon_head=True)
    logits, features = discriminator.logits_and_features(torch.rand(3, 1, 64, 64))
    assert logits.shape == (3, 1) and features.shape == (3, 128, 8, 8)
    assert discriminator.recon_head(features).shape == (3, 1, 32, 32)
    assert not hasattr(Discriminator(), "decoder")


def test_discriminator_options_round_trip_through_model_args_and_leave_the_lab_unchanged():
    gan = GAN(8, "dcgan", recon_head=True)
    rebuilt = GAN(**gan.model_args)
    assert (
        rebuilt.model_args
        == gan.model_args
        == {
            "latent_dim": 8,
            "architecture": "dcgan",
            "recon_head": True,
        }
    )
    assert set(rebuilt.state_dict()) == set(gan.state_dict())
    assert GAN(8).model_args == {"latent_dim": 8, "architecture": "lab"}  # the lab's checkpoints as before
