"""The loss curve and the original / noisy / denoised picture (matplotlib, no screen needed)."""
from pathlib import Path

import numpy as np



def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss(history: dict, path: Path) -> None:
    """Training and validation loss per epoch."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, history["loss"], "o-", label="training loss")
    ax.plot(epochs, history["val_loss"], "s-", label="validation loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("binary cross-entropy")
    ax.set_title("DAE training")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def plot_samples(clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray, path: Path) -> None:
    """Validation images (one per class, or evenly spaced) in three rows: original, noisy, denoised."""
    plt = _pyplot()
    rows = {"original": clean, "noisy": noisy, "denoised": denoised}
    fig, axes = plt.subplots(3, len(clean), figsize=(len(clean) * 1.0, 3.3), squeeze=False)
    for r, (title, row) in enumerate(rows.items()):
        for c in range(len(clean)):
            ax = axes[r, c]
            ax.imshow(np.squeeze(row[c]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
