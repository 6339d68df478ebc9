from facegen.metrics import summarize_gan, summarize_vae


def vae_row(epoch, val_loss):
    return {
        "epoch": epoch,
        "train_loss": 10.0 / epoch,
        "train_recon_loss": 8.0 / epoch,
        "train_kl_loss": 2.0 / epoch,
        "val_loss": val_loss,
        "val_recon_loss": val_loss - 1,
        "val_kl_loss": 1.0,
    }


def test_vae_summary_reports_final_and_best():
    summary = summarize_vae([vae_row(1, 9.0), vae_row(2, 4.123456789), vae_row(3, 5.0)])
    assert summary["epochs"] == 3
    assert summary["val"]["loss"] == 5.0 and summary["train"]["recon_loss"] == round(8 / 3, 5)
    assert summary["best_val"] == {"epoch": 2, "loss": 4.12346, "recon_loss": 3.12346, "kl_loss": 1.0}


def test_gan_summary_means_the_last_quarter():
    keys = ["d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake"]
    history = [{"epoch": e} | {k: float(e) for k in keys} for e in range(1, 9)]
    summary = summarize_gan(history)
    assert summary["final"]["g_loss"] == 8.0
    assert summary["last_quarter_mean"]["g_loss"] == 7.5  # epochs 7 and 8
