"""`dae-edge train`: train the reference DAE on MNIST."""
import os
from pathlib import Path
from typing import Annotated, Optional

import typer


def train_command(
    data: Annotated[Optional[Path], typer.Option(help="MNIST folder (IDX files or mnist.npz); default $DAE_EDGE_DATA, then Keras's cache.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the model, history, plots and metrics.")] = Path("models"),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 25,
    batch_size: Annotated[int, typer.Option(help="Images per training step.")] = 64,
    learning_rate: Annotated[float, typer.Option(help="Adam's learning rate.")] = 1e-3,
    noise_factor: Annotated[float, typer.Option(help="Noise: x + factor·N(0, 1), clipped to [0, 1].")] = 0.5,
    limit: Annotated[Optional[int], typer.Option(help="Train on the first N training images only.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for weights, shuffling and noise.")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from its last checkpoint in --out.")] = False,
) -> None:
    """Train the denoising autoencoder and write dae.keras, config.json, history.json, loss.png, samples.png, metrics.json."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    from dae_edge.runtime.errors import DaeEdgeError
    from dae_edge.train.config import TrainConfig

    try:
        config = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                             noise_factor=noise_factor, limit=limit, seed=seed)
    except ValueError as exc:
        raise DaeEdgeError(str(exc)) from None
    from dae_edge.runtime.files import ensure_writable_dir
    from dae_edge.train.data import load_mnist

    ensure_writable_dir(out)
    mnist = load_mnist(data)
    typer.echo(f"training on {min(len(mnist.x_train), limit or len(mnist.x_train))} images, "
               f"validating on {len(mnist.x_test)}, {epochs} epochs → {out}/")
    from dae_edge.train.training import train

    try:
        metrics = train(config, mnist, out, resume=resume, log=typer.echo)
    except KeyboardInterrupt:
        raise DaeEdgeError(f"interrupted; the last finished epoch is checkpointed: rerun with --resume --out {out}") from None
    typer.echo(f"PSNR noisy {metrics['psnr_noisy']:.2f} dB → denoised {metrics['psnr_denoised']:.2f} dB; "
               f"SSIM {metrics['ssim_noisy']:.3f} → {metrics['ssim_denoised']:.3f}")
