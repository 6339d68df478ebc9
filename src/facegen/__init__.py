"""facegen: a reproducible pipeline that trains a VAE and a GAN on gray-scale faces."""

__version__ = "0.1.0"

# Side of the square faces everything works on: the CK crops, and what the models' fully
# connected layers expect (64 channels x 16 x 16 after two poolings).
IMAGE_SIZE = 64

# What training returns and history.json holds: one row of named floats per epoch.
History = list[dict[str, float]]


class FacegenError(Exception):
    """A problem the user can fix (bad input file, bad parameter, diverged training).

    Stage scripts print its message as one sentence, without a traceback, and exit non-zero.
    """
