"""The corruptions the autoencoder learns to remove, named by a short spec (numpy only).

    gaussian:0.5       x + 0.5·N(0, 1), clipped (the paper's recipe)
    gaussian:0.1-0.8   a blind model: each image gets its own level, drawn uniformly from the range
    poisson:PEAK       shot noise: Poisson(x·PEAK) / PEAK, as from a low-light sensor
    saltpepper:F       a fraction F of the pixels set to 0 or 1, half each
    poisson-gaussian:PEAK,SIGMA   a camera: shot noise at PEAK photons for white plus Gaussian read noise σ
    poisson-gaussian:20-200,0.01-0.05   the same, blind: PEAK and σ each drawn per image from its range
    none               nothing added: the pictures are noisy already (self-supervised training)
    gaussian:0-0.05|gaussian:0-0.2   a mixture: each image gets one of the specs, with equal odds (name one twice
                       to give it twice the odds): more low levels than one uniform range, or several kinds at once
"""
from __future__ import annotations  # numpy is imported where it is used: the CLI starts without it

import re
from dataclasses import dataclass

KINDS = ("gaussian", "poisson", "saltpepper", "poisson-gaussian")
NONE = "none"  # the pictures are noisy already
MIX = "|"  # between the specs of a mixture
MAX_SIGMA = 1.0  # σ on the 0–1 pixel scale: at 1 the picture is gone
MAX_PEAK = 1e6  # photons at white; numpy's Poisson refuses rates near 1e19
_NUMBER = r"[0-9]*\.?[0-9]+"
_SPEC = re.compile(rf"^(?P<kind>[a-z-]+):(?P<low>{_NUMBER})(?:-(?P<high>{_NUMBER}))?"
                   rf"(?:,(?P<read_low>{_NUMBER})(?:-(?P<read_high>{_NUMBER}))?)?$")


def add_noise(images: np.ndarray, factor: float, seed: int) -> np.ndarray:
    """Return `images + factor * N(0, 1)` clipped to [0, 1], as float32, from a seeded generator."""
    import numpy as np

    if factor < 0:
        raise ValueError(f"noise factor must be >= 0, got {factor}")
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images.astype(np.float32) + np.float32(factor) * noise, 0.0, 1.0)


@dataclass(frozen=True)
class Noise:
    """A noise model: a kind and a level, or a range of levels drawn per image."""

    kind: str = "gaussian"
    low: float = 0.5
    high: float | None = None  # None: every image gets `low`
    read_low: float | None = None  # poisson-gaussian only: the Gaussian read noise σ (0–1 scale), or its range
    read_high: float | None = None

    @classmethod
    def parse(cls, spec: str) -> "Noise | NoiseMix":
        """A spec as the module docstring shows it; one with `|` between specs is a `NoiseMix`."""
        if MIX in spec:
            parts = tuple(cls.parse(part) for part in spec.split(MIX))
            if any(part.kind == NONE for part in parts):
                raise ValueError(f"--noise {spec!r}: `none` cannot be part of a mixture")
            return NoiseMix(parts)
        if spec.strip().lower() == NONE:
            return cls(NONE, 0.0)
        match = _SPEC.match(spec.strip().lower())
        two = match is not None and match["kind"] == "poisson-gaussian"
        if not match or match["kind"] not in KINDS or two != (match["read_low"] is not None):
            raise ValueError(f"--noise {spec!r}: expected KIND:LEVEL or KIND:LOW-HIGH with KIND one of "
                             f"{', '.join(KINDS)} (e.g. gaussian:0.5, gaussian:0.1-0.8, poisson:30, saltpepper:0.1, "
                             "poisson-gaussian:50,0.02 or poisson-gaussian:20-200,0.01-0.05)")
        number = lambda key: None if match[key] is None else float(match[key])  # noqa: E731
        return cls(match["kind"], float(match["low"]), number("high"), number("read_low"), number("read_high"))

    def __post_init__(self) -> None:
        levels = [self.low] + ([] if self.high is None else [self.high])
        if self.high is not None and self.high < self.low:
            raise ValueError(f"--noise {self}: the range {self.low}-{self.high} is out of order")
        if self.kind in ("poisson", "poisson-gaussian") and min(levels) <= 0:
            raise ValueError(f"--noise {self}: the Poisson peak must be > 0")
        if self.kind == "poisson-gaussian":
            reads = [self.read_low] + ([] if self.read_high is None else [self.read_high])
            if self.read_high is not None and self.read_high < self.read_low:
                raise ValueError(f"--noise {self}: the read-noise range {self.read_low}-{self.read_high} is out of order")
            if not all(0 <= r <= MAX_SIGMA for r in reads):
                raise ValueError(f"--noise {self}: the read noise σ is on the 0–1 scale; between 0 and at most {MAX_SIGMA:g}")
        if self.kind == "saltpepper" and not all(0 <= v <= 1 for v in levels):
            raise ValueError(f"--noise {self}: the salt-and-pepper fraction must be in [0, 1]")
        if min(levels) < 0:
            raise ValueError(f"--noise {self}: levels must be >= 0")
        if self.kind == "gaussian" and max(levels) > MAX_SIGMA:
            raise ValueError(f"--noise {self}: σ is on the 0–1 scale of the pixels; at most {MAX_SIGMA:g}")
        if self.kind in ("poisson", "poisson-gaussian") and max(levels) > MAX_PEAK:
            raise ValueError(f"--noise {self}: a Poisson peak above {MAX_PEAK:g} photons is noise-free to 8 bits; at most {MAX_PEAK:g}")

    def __str__(self) -> str:
        if self.kind == NONE:
            return NONE
        level = f"{self.low:g}" if self.high is None else f"{self.low:g}-{self.high:g}"
        if self.kind == "poisson-gaussian":
            level += f",{self.read_low:g}" if self.read_high is None else f",{self.read_low:g}-{self.read_high:g}"
        return f"{self.kind}:{level}"

    @property
    def blind(self) -> bool:
        return self.high is not None or self.read_high is not None

    def apply(self, images: np.ndarray, seed: int | list[int]) -> np.ndarray:
        """Corrupt float images in [0, 1] (first axis: images), reproducibly from `seed`; float32 in [0, 1]."""
        import numpy as np

        images = np.asarray(images, dtype=np.float32)
        if self.kind == NONE:
            return images.copy()
        if self.kind == "gaussian" and not self.blind:
            return add_noise(images, self.low, seed)  # the paper's draws, bit for bit
        rng = np.random.default_rng(seed)
        shape = (len(images),) + (1,) * (images.ndim - 1)
        level = np.float32(self.low) if self.high is None else rng.uniform(self.low, self.high, shape).astype(np.float32)
        if self.kind == "gaussian":
            noisy = images + level * rng.standard_normal(images.shape, dtype=np.float32)
        elif self.kind == "poisson":
            noisy = rng.poisson(images * level).astype(np.float32) / level
        elif self.kind == "poisson-gaussian":
            peak = np.float32(self.low) if self.high is None else rng.uniform(self.low, self.high, shape).astype(np.float32)
            read = (np.float32(self.read_low) if self.read_high is None
                    else rng.uniform(self.read_low, self.read_high, shape).astype(np.float32))
            noisy = rng.poisson(images * peak).astype(np.float32) / peak + read * rng.standard_normal(images.shape, dtype=np.float32)
        else:
            u = rng.random(images.shape, dtype=np.float32)
            noisy = np.where(u < level / 2, 0.0, np.where(u > 1 - level / 2, 1.0, images))
        return np.clip(noisy, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class NoiseMix:
    """Several noise models at once: each image is corrupted by one of `parts`, drawn with equal odds."""

    parts: tuple[Noise, ...]
    kind = "mix"
    blind = True

    def __str__(self) -> str:
        return MIX.join(map(str, self.parts))

    def apply(self, images: np.ndarray, seed: int | list[int]) -> np.ndarray:
        """As `Noise.apply`: the draw of parts and each part's own draws follow from `seed`."""
        import numpy as np

        images = np.asarray(images, dtype=np.float32)
        rng = np.random.default_rng(seed)
        picked = rng.integers(len(self.parts), size=len(images))
        part_seeds = rng.integers(2**32, size=len(self.parts))
        noisy = np.empty_like(images)
        for index, part in enumerate(self.parts):
            mine = picked == index
            if mine.any():
                noisy[mine] = part.apply(images[mine], int(part_seeds[index]))
        return noisy


def pairs(clean: np.ndarray, noise: Noise | NoiseMix | str, seed: int | list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean): the one place noisy/clean pairs are made, for training, export and bench alike."""
    noise = Noise.parse(noise) if isinstance(noise, str) else noise
    return noise.apply(clean, seed), clean


def corrupt_each(images: list[np.ndarray], noise: Noise | NoiseMix | str, seed: int, keys: list[int]) -> list[np.ndarray]:
    """Each image (H, W) or (H, W, C) with a draw of its own, seeded by [seed, key]: the same image and key give the
    same noise whatever else is corrupted with it (run keys each file by its name, bench by its place)."""
    return [pairs(image.reshape(1, *image.shape[:2], -1), noise, [seed, key])[0].reshape(image.shape)
            for image, key in zip(images, keys)]
