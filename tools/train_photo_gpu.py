"""Fine-tune the photo model on one CUDA GPU, with the CPU cycles' recipe and many more steps.

The recipe is `tools/finetune_photo_low_sigma.sh`'s: random 128×128 patches, files drawn in proportion to their area,
each patch turned by one of the square's eight symmetries, a quarter of them grey (three equal channels and the same
noise in each), Gaussian noise from a mixture of ranges, mean squared error, Adam held at its rate for the first 60% of
the steps (after a short linear warm-up) and then a cosine down to 2% of it. Patches, orientations and noise are drawn on the GPU from one seeded
generator; the model is the Keras one, run by Keras 3 on its torch backend, and saved as a .keras file that the
TensorFlow backend reads. Run as

    KERAS_BACKEND=torch python tools/train_photo_gpu.py --data photos-gh/train --val-data photos-gh/heldout/colour \
        --init photo.keras --out gpu-run --learning-rate 2e-4 --seconds 440

`--seconds` caps the run: after a short timing the step count is cut to what fits, and the log says which count was
used, so the same command with `--steps` set to it gives the same schedule. Needs torch, keras and Pillow, and the
dae_edge package on the path; never TensorFlow.
"""
import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from dae_edge.core.files import publish, staging_dir
from dae_edge.core.folder import TRAIN_MAX_PIXELS, padded_to, scan_folder
from dae_edge.core.images import Invert, read_image
from dae_edge.core.noise import Noise, NoiseMix
from dae_edge.train.model import LR_FLOOR, LR_HOLD
from dae_edge.train.training import LUMA

VAL_SIGMAS = (5, 15, 25, 50)  # on the 0–255 scale, as bench reports them


def read_pictures(root: Path, patch: int) -> list[np.ndarray]:
    """Every picture under `root` as uint8 (H, W, 3), edge-padded up to one patch, as the trainer reads them."""
    pictures = []
    for image in scan_folder(root).files:
        pixels = read_image(root / image.name, Invert.no, channels=3, limit=TRAIN_MAX_PIXELS).pixels
        levels = np.round(pixels * 255)
        if np.abs(levels - pixels * 255).max() > 1e-3:
            raise SystemExit(f"{image.name}: not 8-bit; this script keeps pictures as bytes")
        pictures.append(padded_to(levels.astype(np.uint8), patch))
    return pictures


def gaussian_parts(spec: str) -> np.ndarray:
    """(parts, 2): each Gaussian part's σ range; other kinds are refused."""
    noise = Noise.parse(spec)
    parts = noise.parts if isinstance(noise, NoiseMix) else (noise,)
    if any(part.kind != "gaussian" for part in parts):
        raise SystemExit(f"--noise {spec}: this script draws Gaussian noise only")
    return np.array([[part.low, part.low if part.high is None else part.high] for part in parts], np.float32)


def dihedral_maps(patch: int) -> np.ndarray:
    """(8, patch, patch): for each of the square's eight symmetries, the source pixel (row·patch + column) of each
    pixel of the turned patch, in `dihedral`'s order (transposed for 4–7, then turned kind % 4 quarter turns)."""
    grid = np.arange(patch * patch).reshape(patch, patch)
    return np.stack([np.rot90(grid.T if kind >= 4 else grid, kind % 4) for kind in range(8)])


class PatchSampler:
    """Random noisy/clean patch pairs drawn on the device from pictures held there as bytes."""

    def __init__(self, pictures: list[np.ndarray], patch: int, noise: np.ndarray, grey_share: float, seed: int, device):
        import torch

        self.torch, self.patch, self.grey_share = torch, patch, grey_share
        self.flat = torch.from_numpy(np.concatenate([p.reshape(-1) for p in pictures])).to(device)
        sizes = np.array([p.shape[:2] for p in pictures], np.int64)
        self.heights, self.widths = (torch.from_numpy(sizes[:, i].copy()).to(device) for i in (0, 1))
        self.offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(sizes.prod(1) * 3)[:-1]])).to(device)
        self.area = (self.heights * self.widths).double()
        maps = torch.from_numpy(dihedral_maps(patch).copy()).to(device)
        self.rows, self.cols = maps // patch, maps % patch
        self.noise = torch.from_numpy(noise).to(device)
        self.luma = torch.from_numpy(LUMA).to(device)
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.device = device

    def _uniform(self, *shape):
        return self.torch.rand(shape, generator=self.generator, device=self.device)

    def batch(self, size: int):
        """(noisy, clean), each (size, patch, patch, 3) float32 in [0, 1]."""
        torch, p = self.torch, self.patch
        files = torch.multinomial(self.area, size, replacement=True, generator=self.generator)
        y = (self._uniform(size) * (self.heights[files] - p + 1)).long()
        x = (self._uniform(size) * (self.widths[files] - p + 1)).long()
        kind = torch.randint(0, 8, (size,), generator=self.generator, device=self.device)
        rows = y[:, None, None] + self.rows[kind]
        cols = x[:, None, None] + self.cols[kind]
        pixel = self.offsets[files][:, None, None] + (rows * self.widths[files][:, None, None] + cols) * 3
        clean = self.flat[pixel[..., None] + torch.arange(3, device=self.device)].float() / 255
        grey = self._uniform(size) < self.grey_share
        clean = torch.where(grey[:, None, None, None], (clean @ self.luma)[..., None].expand_as(clean), clean)
        part = torch.randint(0, len(self.noise), (size,), generator=self.generator, device=self.device)
        low, high = self.noise[part, 0], self.noise[part, 1]
        sigma = low + (high - low) * self._uniform(size)
        draw = torch.randn(clean.shape, generator=self.generator, device=self.device)
        draw = torch.where(grey[:, None, None, None], draw[..., :1].expand_as(draw), draw)
        return (clean + sigma[:, None, None, None] * draw).clamp(0, 1), clean


def learning_rate(base: float, step: int, steps: int, warmup: int) -> float:
    """`dae_edge.train.model.learning_rate`'s schedule, by step instead of by epoch, after a linear warm-up over the
    first `warmup` steps (a fresh Adam's first steps move every weight by about the full rate)."""
    hold = int(round(steps * LR_HOLD))
    if step < warmup:
        return base * (step + 1) / warmup
    if step < hold:
        return base
    t = (step - hold + 1) / max(steps - hold, 1)
    return base * (LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * t)))


def validation_set(root: Path, patch: int, seed: int, device):
    """The centre patch of each validation picture, colour and grey, with fixed noise at each of VAL_SIGMAS."""
    import torch

    centres = []
    for image in scan_folder(root, "--val-data").files:
        pixels = read_image(root / image.name, Invert.no, channels=3).pixels
        top, left = (pixels.shape[0] - patch) // 2, (pixels.shape[1] - patch) // 2
        centres.append(pixels[top : top + patch, left : left + patch])
    colour = np.stack(centres).astype(np.float32)
    grey = np.repeat((colour @ LUMA)[..., None], 3, -1)
    rng = np.random.default_rng(seed)
    sets = {}
    for name, clean in (("colour", colour), ("grey", grey)):
        for sigma in VAL_SIGMAS:
            draw = rng.standard_normal(clean.shape).astype(np.float32)
            if name == "grey":
                draw = np.repeat(draw[..., :1], 3, -1)
            noisy = np.clip(clean + sigma / 255 * draw, 0, 1)
            sets[f"{name} {sigma}"] = (torch.from_numpy(noisy).to(device), torch.from_numpy(clean).to(device))
    return sets


def validate(model, sets) -> dict:
    """Mean PSNR per set, the output clipped to [0, 1] as the runtime writes it."""
    import torch

    with torch.no_grad():
        scores = {}
        for name, (noisy, clean) in sets.items():
            error = ((model(noisy, training=False).clamp(0, 1) - clean) ** 2).mean(dim=(1, 2, 3))
            scores[name] = round(float((10 * torch.log10(1 / error)).mean()), 3)
    return scores


def save(model, out: Path, log: dict) -> None:
    """The model and the log, each replaced whole."""
    with staging_dir(out) as stage:
        model.save(stage / "dae.keras")
        (stage / "train_gpu.json").write_text(json.dumps(log, indent=2) + "\n")
        publish(stage, out, ["dae.keras", "train_gpu.json"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--val-data", type=Path, required=True)
    parser.add_argument("--init", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--noise", default="gaussian:0-0.05|gaussian:0-0.2|gaussian:0.04-0.12")
    parser.add_argument("--grey-share", type=float, default=0.25)
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--steps", type=int, default=100000)
    parser.add_argument("--warmup", type=int, default=1000, help="steps of linear warm-up of the learning rate")
    parser.add_argument("--seconds", type=float, default=None, help="cut --steps to what fits in this wall time")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--val-every", type=int, default=1000)
    parser.add_argument("--save-every", type=float, default=120.0, help="seconds between checkpoints")
    args = parser.parse_args()

    began = time.perf_counter()
    import keras
    import torch

    if keras.backend.backend() != "torch":
        raise SystemExit("set KERAS_BACKEND=torch")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    keras.utils.set_random_seed(args.seed)
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)
    args.out.mkdir(parents=True, exist_ok=True)

    pictures = read_pictures(args.data, args.patch)
    sampler = PatchSampler(pictures, args.patch, gaussian_parts(args.noise), args.grey_share, args.seed, device)
    sets = validation_set(args.val_data, args.patch, args.seed, device)
    model = keras.models.load_model(args.init, compile=False)
    params = [v.value for v in model.trainable_variables]
    optimizer = torch.optim.Adam(params, lr=args.learning_rate, eps=1e-7)  # Keras's Adam: ε 1e-7
    log = {"args": {k: str(v) for k, v in vars(args).items()}, "device": torch.cuda.get_device_name() if device == "cuda"
           else "cpu", "torch": torch.__version__, "keras": keras.__version__, "pictures": len(pictures),
           "setup_s": round(time.perf_counter() - began, 1), "val": [{"step": 0, **validate(model, sets)}], "loss": []}
    print(json.dumps({k: log[k] for k in ("device", "pictures", "setup_s", "val")}), flush=True)

    def now() -> float:  # after the GPU's queued work, so that timings are the work's
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    steps, step, running, last_save, timed = args.steps, 0, [], time.perf_counter(), None
    while step < steps:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(args.learning_rate, step, steps, args.warmup)
        noisy, clean = sampler.batch(args.batch_size)
        loss = torch.mean((model(noisy, training=True) - clean) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running.append(loss.detach())
        step += 1
        if step == 10:
            timed = now()
        if step == 60 and args.seconds is not None:  # 50 steps timed: cut the run to what fits
            rate = 50 / (now() - timed)
            fits = int(rate * (args.seconds - (time.perf_counter() - began)) * 0.95)
            steps = max(min(steps, fits), step + 1)
            log.update(steps_per_s=round(rate, 2), steps=steps)
            print(f"{rate:.1f} steps/s: {steps} steps", flush=True)
        if step % 100 == 0 or step % args.val_every == 0 or step == steps:
            log["loss"].append([step, float(torch.stack(running).mean())])
            running = []
        if step % args.val_every == 0 or step == steps:
            log["val"].append({"step": step, **validate(model, sets)})
            print(json.dumps({**log["val"][-1], "loss": log["loss"][-1][1],
                              "s": round(time.perf_counter() - began)}), flush=True)
        if time.perf_counter() - last_save > args.save_every or step == steps:
            log.update(steps=steps, done=step, wall_s=round(time.perf_counter() - began, 1))
            save(model, args.out, log)
            last_save = time.perf_counter()


if __name__ == "__main__":
    main()
