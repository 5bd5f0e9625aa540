"""`dae-edge train`: train a denoising autoencoder on MNIST, other IDX data, or a folder of pictures."""
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dae_edge.train.config import ARCHS, TrainConfig
from dae_edge.core.data_config import FOLDER_PATCH, DataConfig

DEFAULT = TrainConfig()
DATA = DataConfig()


def _log(line: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")  # the progress line gives way to the epoch's summary
    typer.echo(line)


def _progress(epoch: int, epochs: int, step: int, steps: int, seconds: float) -> None:
    """One line on the terminal, rewritten after every batch: steps, rate, time left in the epoch and in the run."""
    rate = step / max(seconds, 1e-9)
    left = (steps - step) / rate
    run_left = left + (epochs - epoch - 1) * steps / rate
    bar = "#" * (20 * step // steps)
    sys.stderr.write(f"\r\033[K  epoch {epoch + 1}/{epochs} [{bar:20}] {step}/{steps} steps, {rate:.1f}/s, "
                     f"{left:.0f} s left; the run about {_duration(run_left)} more")
    sys.stderr.flush()


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def train_command(
    data: Annotated[Optional[Path], typer.Option(help="A folder of pictures (searched recursively), or MNIST/IDX files or mnist.npz; default: MNIST from $DAE_EDGE_DATA, then Keras's cache.")] = None,
    val_data: Annotated[Optional[Path], typer.Option(help="A folder of validation pictures, instead of holding out a share of --data.")] = None,
    patch: Annotated[Optional[int], typer.Option(help=f"Training patch side in pixels, a multiple of 4 (default: 28 for MNIST, {FOLDER_PATCH} for folders).")] = DATA.patch,
    pad: Annotated[bool, typer.Option(help="Pad pictures smaller than a patch (--no-pad refuses them).")] = DATA.pad,
    val_fraction: Annotated[float, typer.Option(help="Share of a folder's files held out for validation (by file, seeded).")] = DATA.val_fraction,
    patches_per_epoch: Annotated[int, typer.Option(min=1, help="Random patches drawn afresh for each epoch (folders).")] = DATA.patches_per_epoch,
    val_patches: Annotated[int, typer.Option(min=1, help="Fixed validation patches cut from the validation files (folders).")] = DATA.val_patches,
    channels: Annotated[int, typer.Option(min=1, max=3, help="1: grey; 3: colour (RGB), grey pictures as three equal channels (folders).")] = DATA.channels,
    grey_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Colour models: share of the patches turned grey, so grey pictures are learnt too.")] = DEFAULT.grey_share,
    loss: Annotated[Optional[str], typer.Option(help=f"bce (the paper's), mse, or psnr (each patch's log squared error; default: {DEFAULT.loss}; mse with --self-supervised).")] = None,
    filters: Annotated[int, typer.Option(min=1, help="Width of the network's first layers (32: the paper's).")] = DEFAULT.filters,
    out: Annotated[Path, typer.Option(help="Folder for the model, history, plots and metrics.")] = Path("models"),
    arch: Annotated[str, typer.Option(help=f"Network: {', '.join(ARCHS)} (the paper's DAE, the stronger U-Net, the residual photo U-Net, it with a full-resolution head, and that head wider).")] = DEFAULT.arch,
    noise: Annotated[Optional[str], typer.Option(help=f"Noise to remove: gaussian:0.5 (σ on the 0–1 scale of the pixels: 0.1 ≈ 25/255), gaussian:0.1-0.8 (blind), poisson:PEAK, saltpepper:FRACTION, poisson-gaussian:PEAK,SIGMA, or several joined by | for a mixture, each picture one of them: 'gaussian:0-0.05|gaussian:0-0.2' (default {DEFAULT.noise}).")] = None,
    self_supervised: Annotated[bool, typer.Option("--self-supervised", help="Learn from the noisy pictures of --data alone, no clean copies (Neighbor2Neighbor); no --noise.")] = False,
    val_noise: Annotated[Optional[str], typer.Option(help="With --self-supervised: the --val-data pictures are clean; add this noise to them, and validation reports PSNR.")] = None,
    bursts: Annotated[bool, typer.Option("--bursts", help="Learn from bursts, several noisy shots of each static scene (a sub-folder per scene, or names that differ in a last number: night-01.png, night-02.png): one shot in, another as the target (Noise2Noise); self-supervised, no --noise.")] = False,
    n2n_gamma: Annotated[float, typer.Option(min=0.0, help="With --self-supervised: the regulariser's weight at the last epoch (ramped from 0).")] = DEFAULT.n2n_gamma,
    fresh_noise: Annotated[bool, typer.Option(help="Draw new training noise every epoch (the paper draws it once).")] = DEFAULT.fresh_noise,
    augment: Annotated[bool, typer.Option(help="Flip or turn each training patch by a seeded one of the square's eight symmetries (new draws, and new noise, every epoch).")] = DEFAULT.augment,
    mosaic: Annotated[int, typer.Option(help="Train on N×N mosaics of images, so that neighbours touching in one picture are no surprise.")] = DEFAULT.mosaic,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = DEFAULT.epochs,
    batch_size: Annotated[int, typer.Option(min=1, help="Images per training step.")] = DEFAULT.batch_size,
    learning_rate: Annotated[float, typer.Option(help="Adam's learning rate.")] = DEFAULT.learning_rate,
    lr_schedule: Annotated[str, typer.Option(help="constant, or cosine: a cosine decay over the last 40% of the epochs.")] = DEFAULT.lr_schedule,
    limit: Annotated[Optional[int], typer.Option(help="Train on the first N training images only.")] = DEFAULT.limit,
    seed: Annotated[int, typer.Option(help="Seed for weights, shuffling and noise.")] = DEFAULT.seed,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from its last checkpoint in --out.")] = False,
    init: Annotated[Optional[Path], typer.Option(help="Fine-tune: start from this trained model's weights (a dae.keras of the same --arch, --filters and --channels, e.g. models/photo/dae.keras, of photo for photo_fullres, or of photo_fullres for photo_fullres_wide), with a fresh optimizer and schedule.")] = None,
) -> None:
    """Train the denoising autoencoder and write dae.keras, config.json, contract.json, history.json, loss.png, samples.png, metrics.json."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    from dae_edge.core.errors import DaeEdgeError, require_training_stack
    from dae_edge.core.noise import NONE

    require_training_stack("train")
    method = "--bursts" if bursts else "--self-supervised"
    self_supervised = self_supervised or bursts
    if self_supervised and noise is not None:
        raise DaeEdgeError(f"{method} learns from pictures that are noisy already, so --noise {noise} has nothing "
                           "to say; leave it out (or train supervised on clean pictures with --noise)")
    if val_noise is not None and not self_supervised:
        raise DaeEdgeError("--val-noise is for --self-supervised training; supervised validation uses --noise")
    if init is not None and not init.is_file():
        raise DaeEdgeError(f"--init {init}: no such file; give the dae.keras of a trained model")
    from dae_edge.core.files import sha256

    try:
        config = TrainConfig(arch=arch, noise=NONE if self_supervised else noise or DEFAULT.noise,
                             self_supervised=self_supervised, bursts=bursts, val_noise=val_noise, n2n_gamma=n2n_gamma, fresh_noise=fresh_noise, mosaic=mosaic, epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, lr_schedule=lr_schedule, limit=limit, seed=seed,
                             loss=loss or ("mse" if self_supervised else DEFAULT.loss), grey_share=grey_share, filters=filters, augment=augment,
                             init=None if init is None else str(init), init_sha256=None if init is None else sha256(init))
        data_config = DataConfig(patch=patch, val_fraction=val_fraction, pad=pad, patches_per_epoch=patches_per_epoch,
                                 val_patches=val_patches, channels=channels)
    except ValueError as exc:
        raise DaeEdgeError(str(exc)) from None
    from dae_edge.core.files import output_folder
    from dae_edge.core.data import open_source
    from dae_edge.train.training import check_patch, train

    if data is not None and data.is_dir() and out.resolve().is_relative_to(data.resolve()):
        raise DaeEdgeError(f"--out {out} is inside --data {data}: train would write its plots into its own data; "
                           "choose an --out outside the data folder")
    source = open_source(data, data_config, seed, val_data, limit, bursts)
    check_patch(config, source)  # before --out is created
    with output_folder(out):
        how = ("self-supervised (Noise2Noise), no clean targets" if bursts else
               "self-supervised (Neighbor2Neighbor), no clean targets" if self_supervised else f"with {config.noise} noise")
        typer.echo(f"training {arch} on {source.summary()}, {how}, {epochs} epochs → {out}/")
        try:
            metrics = train(config, source, out, resume=resume, log=_log, progress=_progress if sys.stderr.isatty() else None)
        except KeyboardInterrupt:
            raise DaeEdgeError(f"interrupted; the last finished epoch is checkpointed: rerun with --resume --out {out}") from None
        except OSError as exc:
            raise DaeEdgeError(f"{out}: could not write ({exc.strerror or exc}); free some space, then rerun with "
                               f"--resume --out {out}") from None
    if skipped := source.skipped_summary():
        typer.echo(skipped, err=True)  # one line for every file that could not be read
    if "psnr_noisy" not in metrics:
        typer.echo(f"validation: self-supervised loss {metrics['self_supervised_val_loss']:.5f}; PSNR {metrics['psnr']}")
        return
    typer.echo(f"PSNR noisy {metrics['psnr_noisy']:.2f} dB → denoised {metrics['psnr_denoised']:.2f} dB; "
               f"SSIM {metrics['ssim_noisy']:.3f} → {metrics['ssim_denoised']:.3f}")
