"""facegen: a reproducible pipeline that trains a VAE and a GAN on gray-scale faces.

Importing it sets how torch's OpenMP threads use the CPUs, before any of its modules loads
torch (:func:`facegen.process.configure_openmp`; a user's own ``OMP_*`` settings win)."""

from facegen import process

process.configure_openmp()

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
