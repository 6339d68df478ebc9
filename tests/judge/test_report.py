import pytest

from facegen.judge.report import HEADLINE, draw_table, headline, summarise


def test_summaries_have_a_mean_and_a_standard_deviation_per_key():
    summary = summarise([{"swd": 1.0, "recall": 0.5}, {"swd": 3.0, "recall": 0.5}])
    assert summary == {"swd": 2.0, "swd_sd": pytest.approx(2**0.5, abs=1e-4), "recall": 0.5, "recall_sd": 0.0}


def test_the_headline_keeps_a_handful_of_numbers_each_with_its_spread():
    metrics = ("swd", "c2st", "face_rate", "memorisation_ratio", "recon_loss", "precision")
    summaries = {name: summarise([{m: 1.0 for m in metrics}, {m: 2.0 for m in metrics}]) for name in HEADLINE}
    top = headline(summaries)
    assert sum(len(row) for row in top.values()) == 24  # of 4 x 12 in the summaries
    for name, row in top.items():
        assert set(row) == {k for key in HEADLINE[name] for k in (key, f"{key}_sd")}
    assert "memorisation_ratio" not in top["real_vs_real"]  # its faces are training faces
    assert set(HEADLINE["pca_gaussian"]) == set(HEADLINE["gan"])  # the baseline on the models' keys


def test_the_draw_table_has_a_row_per_set_and_draw():
    rows = draw_table(
        {"vae": [{"swd": 1.0, "recon_loss": 3.0}], "real_vs_real": [{"swd": 2.0}, {"swd": 4.0}]}
    )
    assert rows == [
        {"set": "vae", "draw": 0, "swd": 1.0, "recon_loss": 3.0},
        {"set": "real_vs_real", "draw": 0, "swd": 2.0},
        {"set": "real_vs_real", "draw": 1, "swd": 4.0},
    ]
