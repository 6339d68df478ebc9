import numpy as np

from facegen.data.demo import orl_faces, to_ck_layout


def test_orl_demo_faces():
    faces = orl_faces(image_size=64)
    assert faces.shape == (400, 64, 64) and faces.dtype == np.uint8
    # Ten different photos per subject, subjects in order: neighbours within a subject
    # look more alike than the same photo index of another subject.
    f = faces.astype(float)
    same = np.abs(f[0] - f[1]).mean()
    other = np.abs(f[0] - f[10]).mean()
    assert same < other
    mean = f.mean(0)
    assert mean[20:30].mean() < mean[34:44].mean()  # eyes above cheeks: upright


def test_ck_layout_is_height_width_channel_count():
    faces = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    ck = to_ck_layout(faces)
    assert ck.shape == (3, 4, 1, 2) and np.array_equal(ck[:, :, 0, 1], faces[1])
