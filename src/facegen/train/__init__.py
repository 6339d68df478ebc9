"""Training: the VAE's loop (:mod:`facegen.train.vae`) and the GAN's (:mod:`facegen.train.gan`),
and what they share: batches, bars, checks and augmentation (:mod:`~facegen.train.loop`), the
learning-rate and KL schedules (:mod:`~facegen.train.schedules`) and the generator's weight
average (:mod:`~facegen.train.average`). Nothing is imported here, so each training stage
depends on its own loop's modules only."""
