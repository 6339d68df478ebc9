"""facegen: a reproducible pipeline that trains a VAE and a GAN on gray-scale faces."""

__version__ = "0.1.0"


class FacegenError(Exception):
    """A problem the user can fix (bad input file, bad parameter, diverged training).

    Stage scripts print its message as one sentence, without a traceback, and exit non-zero.
    """
