import json

from facegen.io import atomic_path, csv_text, read_json, sha256, write_json


def test_csv_has_the_first_rows_columns_and_six_digits():
    rows = [{"epoch": 1, "loss": 9.0, "kl": 1 / 3}, {"epoch": 2, "loss": 4.0, "kl": 2.5}]
    lines = csv_text(rows).splitlines()
    assert lines == ["epoch,loss,kl", "1,9,0.333333", "2,4,2.5"]


def test_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.json"
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    assert read_json(target) == {"a": 1} and json.loads(target.read_text()) == {"a": 1}
    assert len(sha256(target)) == 64
