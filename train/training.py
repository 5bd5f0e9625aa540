"""A seeded, resumable training run that writes its results only when they are complete."""
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.grids import grids
from dae_edge.core.files import ensure_writable_dir, publish, staging_dir
from dae_edge.core.metrics import psnr, ssim
from dae_edge.core.noise import NONE, Noise, pairs
from dae_edge.train import neighbour
from dae_edge.train.config import ARCH_DOWNSAMPLING, TrainConfig
from dae_edge.train.neighbour import cell_pairs
from dae_edge.train.contract import make_contract
from dae_edge.core.idx import Mnist
from dae_edge.core.contract import CONTRACT
from dae_edge.core.idx_source import IdxSource
from dae_edge.core.sources import Source, golden_picks

CHECKPOINT_DIR = ".checkpoint"
NO_PSNR = ("not measured: the validation pictures are noisy, with no clean copy; give clean ones with --val-data "
           "and the noise to add with --val-noise")
OUTPUTS = ["dae.keras", "config.json", CONTRACT, "history.json", "loss.png", "samples.png", "metrics.json"]


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")


def _seed_everything(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _save_checkpoint(model, folder: Path, epoch: int, history: dict, config: TrainConfig, contract: dict) -> None:
    """Save model, optimizer state and history; the old checkpoint stays until the new one is whole."""
    folder.mkdir(exist_ok=True)
    with staging_dir(folder) as stage:
        model.save(stage / "dae.keras")
        _write_json(stage / "state.json", {"epoch": epoch, "history": history, "config": config.to_dict(), "data": contract["data"]})
        publish(stage, folder, ["dae.keras", "state.json"])


def _load_checkpoint(folder: Path, config: TrainConfig, contract: dict):
    import keras

    state_file = folder / "state.json"
    if not state_file.is_file():
        raise DaeEdgeError(f"{folder}: no checkpoint to resume from; run without --resume")
    state = json.loads(state_file.read_text())
    saved = TrainConfig.from_dict(state["config"])
    if {**saved.to_dict(), "epochs": 0} != {**config.to_dict(), "epochs": 0}:
        raise DaeEdgeError(f"{folder}: the checkpoint was made with other options ({saved}); resume with the same ones")
    if saved.epochs != config.epochs and config.lr_schedule != "constant":
        raise DaeEdgeError(f"{folder}: the checkpoint was made for --epochs {saved.epochs}, and the {config.lr_schedule} "
                           f"learning-rate schedule depends on it; resume with --epochs {saved.epochs}")
    if config.epochs < state["epoch"]:
        raise DaeEdgeError(f"{folder}: the checkpoint has {state['epoch']} epochs already; resume with --epochs "
                           f"{saved.epochs} (or more, with a constant learning rate)")
    if state.get("data", contract["data"]) != contract["data"]:
        raise DaeEdgeError(f"{folder}: the checkpoint was made on other data; resume with the same --data and data options")
    from dae_edge.train.model import custom_objects

    return keras.models.load_model(folder / "dae.keras", custom_objects=custom_objects()), state["epoch"], state["history"]


def _fits(theirs: tuple, ours: tuple) -> bool:
    """Whether a trained weight of shape `theirs` fits in the leading corner of one of shape `ours`."""
    return len(theirs) == len(ours) and all(t <= o for t, o in zip(theirs, ours))


def _embedded(trained: np.ndarray, built: np.ndarray) -> np.ndarray:
    """`trained` in the leading corner of `built`, and, where a kernel has more inputs than it had (its axis −2),
    zeros from those inputs: the channels a wider layer adds start as built, and the next layer ignores them."""
    out = built.copy()
    if built.ndim >= 2 and built.shape[-2] > trained.shape[-2]:
        out[..., trained.shape[-2]:, :] = 0
    out[tuple(slice(0, n) for n in trained.shape)] = trained
    return out


def start_from(model, path: Path) -> None:
    """Set `model`'s weights to those of the trained model at `path` (fine-tuning): all of them, or, where `model`
    extends that network (photo_fullres around photo; photo_fullres_wide, a wider head), those of each layer of the
    trained model's names, widened where ours is wider, so that it starts from the trained model's output;
    DaeEdgeError, in one line, where that file is neither."""
    import keras

    try:
        trained = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many kinds for a damaged or foreign file
        raise DaeEdgeError(f"--init {path}: not a Keras model that can be read ({type(exc).__name__}); give a dae.keras "
                           "that dae-edge train wrote") from None
    if [w.shape for w in trained.weights] == [w.shape for w in model.weights]:
        model.set_weights(trained.get_weights())
        return
    ours = {layer.name: layer for layer in model.layers if layer.weights}
    theirs = [layer for layer in trained.layers if layer.weights]
    def takes(layer) -> bool:  # the same shapes, or a plain convolution that ours widens (not a transposed one)
        mine = ours.get(layer.name)
        shapes = [(tuple(t.shape), tuple(o.shape)) for t, o in zip(layer.weights, mine.weights)] if mine else []
        return mine is not None and len(layer.weights) == len(mine.weights) and (
            all(t == o for t, o in shapes) or type(mine) is keras.layers.Conv2D and all(_fits(t, o) for t, o in shapes))

    if trained.input_shape[-1] != model.input_shape[-1] or not theirs or not all(takes(layer) for layer in theirs):
        raise DaeEdgeError(f"--init {path}: a {trained.name} model of input {trained.input_shape[1:]} and other layers than "
                           f"this run's {model.name}; fine-tune with the --arch, --filters and --channels it was trained with "
                           "(or an --arch that extends it, such as photo_fullres from photo, photo_fullres_wide from photo_fullres)")
    for layer in theirs:  # a larger network around the trained one: its layers by name, the new ones as built
        built = ours[layer.name].get_weights()
        ours[layer.name].set_weights([_embedded(t, b) for t, b in zip(layer.get_weights(), built)])


def _progress_callback(progress, epoch: int, epochs: int, steps: int):
    """A Keras callback that reports (epoch, epochs, step, steps, seconds into the epoch) after every batch."""
    import keras

    class Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.began = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            progress(epoch, epochs, batch + 1, steps, time.perf_counter() - self.began)

    return Progress()


def mosaic(images: np.ndarray, side: int) -> np.ndarray:
    """(N, h, w, c) → (N // side², side·h, side·w, c): consecutive images laid out side × side.

    A model trained on single digits learns that the zero padding beyond the border means clean
    background, and then fails where digits touch each other in one larger image. In a mosaic
    every digit has both: the image border on some sides and noisy neighbours on others.
    """
    return images if side == 1 else grids(images, side, side)


LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as Pillow's convert("L")


def dihedral(images: np.ndarray, seed: list[int]) -> np.ndarray:
    """A copy of square patches (N, s, s, c), each flipped or turned by a seeded one of the square's eight symmetries."""
    kinds = np.random.default_rng(seed).integers(0, 8, len(images))
    out = np.empty_like(images)
    for kind in range(8):
        picked = kinds == kind
        turned = images[picked].transpose(0, 2, 1, 3) if kind >= 4 else images[picked]
        out[picked] = np.rot90(turned, kind % 4, axes=(1, 2))
    return out


def grey_share(clean: np.ndarray, share: float, seed: list[int]) -> np.ndarray:
    """Turn a seeded `share` of RGB patches grey, in place (three equal channels); returns which ones."""
    picks = np.random.default_rng(seed).random(len(clean)) < share if clean.shape[-1] == 3 else np.zeros(len(clean), bool)
    if picks.any():
        clean[picks] = (clean[picks] @ LUMA)[..., None]
    return picks


def quality_metrics(clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray) -> dict:
    """Mean per-image PSNR and SSIM against the clean images, for the noisy input and the output."""
    return {
        "images": int(len(clean)),
        "psnr_noisy": float(psnr(clean, noisy).mean()),
        "psnr_denoised": float(psnr(clean, denoised).mean()),
        "ssim_noisy": float(ssim(clean, noisy).mean()),
        "ssim_denoised": float(ssim(clean, denoised).mean()),
    }


def check_patch(config: TrainConfig, source: Source) -> None:
    factor = ARCH_DOWNSAMPLING[config.arch]
    if source.patch % factor:
        raise DaeEdgeError(f"--patch {source.patch} is not a multiple of {factor}, the {config.arch} model's downsampling "
                           f"factor; use e.g. {max(factor, source.patch // factor * factor)}")
    if config.self_supervised and source.kind == "idx":
        raise DaeEdgeError("--self-supervised learns from noisy pictures, and MNIST's digits are clean: train on them "
                           "supervised (without --self-supervised), or point --data at a folder of noisy pictures")
    if config.bursts and source.kind != "bursts":
        raise DaeEdgeError("--bursts needs a folder of bursts as --data")
    if config.self_supervised and not config.bursts and (source.patch // 2) % factor:
        raise DaeEdgeError(f"--self-supervised trains on half-size sub-images of each --patch, so it must be a multiple of "
                           f"{2 * factor} for the {config.arch} model; use e.g. {max(2 * factor, source.patch // (2 * factor) * 2 * factor)}")
    if config.mosaic > 1 and source.fresh_each_epoch:
        raise DaeEdgeError("--mosaic is for small IDX images; a folder is already cut into --patch patches")


def train(
    config: TrainConfig,
    data: Mnist | Source,
    out: Path,
    resume: bool = False,
    log: Callable[[str], None] = print,
    progress: Callable[[int, int, int, int, float], None] | None = None,
) -> dict:
    """Train the DAE on `data` (a source, or MNIST arrays), checkpoint every epoch, and write OUTPUTS into `out`.
    Returns the metrics."""
    from dae_edge.train.model import build_model, compile_model, learning_rate
    from dae_edge.train.plots import plot_loss, plot_samples

    source = IdxSource(data, None, config.limit) if isinstance(data, Mnist) else data
    check_patch(config, source)
    ensure_writable_dir(out)
    checkpoint = out / CHECKPOINT_DIR
    contract = make_contract(config, source)
    x_train = None if config.bursts else source.train_images(0)  # bursts draw their pairs in the loop
    noise = config.noise_model
    once = not (config.fresh_noise or config.augment or source.fresh_each_epoch)  # the paper's: one draw of noise
    noisy_train = pairs(x_train, noise, config.seed)[0] if once else None
    noisy_test, x_test = pairs(source.validation_images(seed=config.val_noise_seed), config.validation_noise, config.val_noise_seed)
    clean_validation = Noise.parse(config.validation_noise).kind != NONE  # else no clean picture anywhere
    if clean_validation:
        validation = (noisy_test, x_test)
    elif config.bursts:  # held-out scenes: one shot against another, a Noise2Noise loss
        validation = source.validation_pairs(config.val_noise_seed)
        noisy_test = x_test = validation[0]
    else:
        validation = (noisy_test, cell_pairs(len(noisy_test), noisy_test.shape[1] // 2, [config.val_noise_seed, 5]))

    _seed_everything(config.seed)
    if resume:
        model, start, history = _load_checkpoint(checkpoint, config, contract)
        saved_epochs = json.loads((checkpoint / "state.json").read_text())["config"]["epochs"]
        extended = f" (the run was for {saved_epochs} epochs; it now runs to {config.epochs})" * (saved_epochs != config.epochs)
        log(f"resuming after epoch {start}/{config.epochs}{extended}")
    else:
        model, start, history = build_model(config, (None, None, source.channels)), 0, {"loss": [], "val_loss": []}
        if config.init is not None:
            start_from(model, Path(config.init))
        compile_model(model, config)
    neighbours = config.self_supervised and not config.bursts
    fitted = neighbour.trainer(model) if neighbours else model

    for epoch in range(start, config.epochs):
        began = time.perf_counter()
        if config.lr_schedule != "constant":
            model.optimizer.learning_rate.assign(learning_rate(config, epoch))
        if config.bursts:  # one noisy shot in, another shot of its scene as the target
            x_train, burst_targets = source.train_pairs(epoch)
        elif source.fresh_each_epoch and epoch > 0:
            x_train = source.train_images(epoch)
        clean = dihedral(x_train, [config.seed, epoch, 7]) if config.augment else x_train
        if config.augment and config.bursts:  # the target turned as its input
            burst_targets = dihedral(burst_targets, [config.seed, epoch, 7])
        order = np.random.default_rng([config.seed, epoch]).permutation(len(clean))
        picks = grey_share(clean, config.grey_share, [config.seed, epoch, 3])
        noisy = pairs(clean, noise, [config.seed, epoch])[0] if noisy_train is None else noisy_train
        noisy[picks] = noisy[picks][..., :1]  # a grey picture's noise is the same in every channel
        side = config.mosaic
        batch = max(config.batch_size // side**2, 1)
        callbacks = [] if progress is None else [_progress_callback(progress, epoch, config.epochs, -(-len(x_train) // side**2 // batch))]
        if config.bursts:
            targets = burst_targets[order]
        elif neighbours:  # noisy patches and, per 2×2 cell, which two neighbours to pair
            fitted.gamma.assign(neighbour.gamma_at(config, epoch))
            targets = cell_pairs(len(noisy), noisy.shape[1] // 2, [config.seed, epoch, 5])
        else:
            targets = mosaic(clean[order], side)
        fit = fitted.fit(
            mosaic(noisy[order], side), targets, batch_size=batch, epochs=1,
            shuffle=False, validation_data=validation, verbose=0, callbacks=callbacks,
        )
        losses = {key: float(fit.history[key][-1]) for key in history}
        if not all(np.isfinite(v) for v in losses.values()):
            raise DaeEdgeError(f"training diverged in epoch {epoch + 1} (loss {losses['loss']:g}); the last good epoch is "
                               "checkpointed: check the data, or lower --learning-rate, and rerun")
        for key in history:
            history[key].append(losses[key])
        _save_checkpoint(model, checkpoint, epoch + 1, history, config, contract)
        log(f"epoch {epoch + 1}/{config.epochs}  loss {history['loss'][-1]:.5f}  "
            f"val_loss {history['val_loss'][-1]:.5f}  ({time.perf_counter() - began:.1f} s)")

    denoised = model.predict(noisy_test, batch_size=256, verbose=0)
    if clean_validation:
        metrics = {**quality_metrics(x_test, noisy_test, denoised), "noise": config.validation_noise,
                   "noise_seed": config.val_noise_seed}
    else:
        metrics = {"images": int(len(x_test)), "self_supervised_val_loss": history["val_loss"][-1], "noise": config.noise,
                   "psnr": NO_PSNR, "noise_seed": config.val_noise_seed}
    with staging_dir(out) as stage:
        model.save(stage / "dae.keras")
        _write_json(stage / "config.json", config.to_dict())
        _write_json(stage / CONTRACT, contract)
        _write_json(stage / "history.json", history)
        _write_json(stage / "metrics.json", metrics)
        plot_loss(history, stage / "loss.png")
        picks = golden_picks(source.validation_labels(), len(x_test), 10)
        plot_samples(x_test[picks], noisy_test[picks], denoised[picks], stage / "samples.png")
        publish(stage, out, OUTPUTS)
    shutil.rmtree(checkpoint, ignore_errors=True)
    return metrics
