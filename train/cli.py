"""`dae-edge train`: train a denoising autoencoder on MNIST."""
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from dae_edge.train.config import ARCHS, TrainConfig

DEFAULT = TrainConfig()


def train_command(
    data: Annotated[Optional[Path], typer.Option(help="MNIST folder (IDX files or mnist.npz); default $DAE_EDGE_DATA, then Keras's cache.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the model, history, plots and metrics.")] = Path("models"),
    arch: Annotated[str, typer.Option(help=f"Network: {', '.join(ARCHS)} (the paper's DAE, or the stronger U-Net).")] = DEFAULT.arch,
    noise: Annotated[str, typer.Option(help="Noise to remove: gaussian:0.5, gaussian:0.1-0.8 (blind), poisson:PEAK, saltpepper:FRACTION.")] = DEFAULT.noise,
    fresh_noise: Annotated[bool, typer.Option(help="Draw new training noise every epoch (the paper draws it once).")] = DEFAULT.fresh_noise,
    mosaic: Annotated[int, typer.Option(help="Train on N×N mosaics of images, so that neighbours touching in one picture are no surprise.")] = DEFAULT.mosaic,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = DEFAULT.epochs,
    batch_size: Annotated[int, typer.Option(help="Images per training step.")] = DEFAULT.batch_size,
    learning_rate: Annotated[float, typer.Option(help="Adam's learning rate.")] = DEFAULT.learning_rate,
    lr_schedule: Annotated[str, typer.Option(help="constant, or cosine: a cosine decay over the last 40% of the epochs.")] = DEFAULT.lr_schedule,
    limit: Annotated[Optional[int], typer.Option(help="Train on the first N training images only.")] = DEFAULT.limit,
    seed: Annotated[int, typer.Option(help="Seed for weights, shuffling and noise.")] = DEFAULT.seed,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from its last checkpoint in --out.")] = False,
) -> None:
    """Train the denoising autoencoder and write dae.keras, config.json, history.json, loss.png, samples.png, metrics.json."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    from dae_edge.runtime.errors import DaeEdgeError, require_training_stack

    require_training_stack("train")
    try:
        config = TrainConfig(arch=arch, noise=noise, fresh_noise=fresh_noise, mosaic=mosaic, epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, lr_schedule=lr_schedule, limit=limit, seed=seed)
    except ValueError as exc:
        raise DaeEdgeError(str(exc)) from None
    from dae_edge.runtime.files import output_folder
    from dae_edge.train.data import load_mnist
    from dae_edge.train.training import train

    mnist = load_mnist(data)
    with output_folder(out):
        typer.echo(f"training {arch} on {min(len(mnist.x_train), limit or len(mnist.x_train))} images with {noise} noise, "
                   f"validating on {len(mnist.x_test)}, {epochs} epochs → {out}/")
        try:
            metrics = train(config, mnist, out, resume=resume, log=typer.echo)
        except KeyboardInterrupt:
            raise DaeEdgeError(f"interrupted; the last finished epoch is checkpointed: rerun with --resume --out {out}") from None
    typer.echo(f"PSNR noisy {metrics['psnr_noisy']:.2f} dB → denoised {metrics['psnr_denoised']:.2f} dB; "
               f"SSIM {metrics['ssim_noisy']:.3f} → {metrics['ssim_denoised']:.3f}")
