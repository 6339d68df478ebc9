"""facegen: a reproducible pipeline that trains a VAE and a GAN on gray-scale faces.

Importing it, or any of its modules, defines things and does nothing else: no environment
variable set, nothing read from the system (how many threads a stage's torch uses is decided
when the stage starts: :func:`facegen.runtime.share_cpus`)."""

__version__ = "0.1.0"

# Side of the square faces everything works on: the CK crops, and what the models' fully
# connected layers expect (64 channels x 16 x 16 after two poolings).
IMAGE_SIZE = 64

# What training logs per epoch: one row of named floats per epoch.
History = list[dict[str, float]]


class FacegenError(Exception):
    """A problem the user can fix (bad input file, bad parameter, diverged training).

    Stage scripts print its message as one sentence, without a traceback, and exit non-zero.
    """
