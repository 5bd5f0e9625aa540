"""Estimating a camera's noise from its own frames: shot noise (Poisson, PEAK photons for white) plus read noise
(Gaussian σ), from local variance against local mean over flat areas (numpy only).

Each frame is cut into 8×8 blocks; a plane is fitted to each block and taken away (uneven light is not noise),
leaving the residual variance. Blocks are grouped by brightness; in each group the lower quartile of the
variances, corrected for the spread a variance of 61 degrees of freedom has, estimates the noise variance
there. A group counts only where it looks like noise alone (its upper quartile at most 2× its lower one;
texture spreads far wider) and where the noise is not clipped at black or white. Variance = mean / PEAK + σ², fitted by least squares over the groups.
"""
from dataclasses import dataclass

import numpy as np

from dae_edge.core.errors import DaeEdgeError

BLOCK = 8
GROUPS = 16  # brightness groups over [0.02, 0.98]; nearer 0 or 1 the noise is clipped
MIN_BLOCKS = 12  # blocks a group needs to count
MIN_GROUPS = 3  # flat groups the fit needs, spanning at least MIN_SPAN of brightness
MIN_SPAN = 0.2
CLIP_MARGIN = 2.0  # a group counts where its mean is this many noise σ from black and white
FLAT_SPREAD = 2.0  # a group's upper/lower quartile of variances: chi-square(61) gives about 1.5, texture far more


@dataclass(frozen=True)
class NoiseFit:
    peak: float  # photons for white: shot-noise variance is mean / peak
    sigma: float  # read noise, on the 0–1 scale
    groups: int  # brightness groups the fit used
    blocks: int

    def spec(self) -> str:
        return f"poisson-gaussian:{self.peak:.3g},{self.sigma:.3g}"

    def blind_spec(self) -> str:
        """A range around the estimate, for a model that must also cover other exposures of the same sensor."""
        return f"poisson-gaussian:{self.peak / 2:.3g}-{self.peak * 2:.3g},{self.sigma / 2:.3g}-{self.sigma * 2:.3g}"


def _residual_variances(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and residual variance (after a fitted plane) of every whole 8×8 block."""
    h, w = frame.shape[0] // BLOCK * BLOCK, frame.shape[1] // BLOCK * BLOCK
    blocks = frame[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).swapaxes(1, 2).reshape(-1, BLOCK * BLOCK)
    y, x = np.mgrid[:BLOCK, :BLOCK]
    design = np.stack([np.ones(BLOCK * BLOCK), y.ravel() - 3.5, x.ravel() - 3.5], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, blocks.T.astype(np.float64), rcond=None)
    residual = blocks - (design @ coefficients).T
    return coefficients[0], (residual**2).sum(axis=1) / (BLOCK * BLOCK - 3)


def _quartile_factor(dof: int) -> float:
    """The lower quartile of chi-square(dof) / dof (Wilson–Hilferty), to undo the lower quartile's bias."""
    z = -0.6745
    return (1 - 2 / (9 * dof) + z * np.sqrt(2 / (9 * dof))) ** 3


def estimate(frames: list[np.ndarray]) -> NoiseFit:
    """PEAK and σ of the noise in grey frames (H, W) in [0, 1]; a one-line error where they hold too little flat area."""
    means, variances = zip(*(_residual_variances(np.asarray(f, np.float64)) for f in frames))
    mean, variance = np.concatenate(means), np.concatenate(variances)
    edges = np.linspace(0.02, 0.98, GROUPS + 1)
    points, weights, used = [], [], 0
    for low, high in zip(edges[:-1], edges[1:]):
        members = variance[(mean >= low) & (mean < high)]
        if len(members) < MIN_BLOCKS:
            continue
        q1, q3 = np.percentile(members, [25, 75])
        if q1 <= 0 or q3 / q1 > FLAT_SPREAD:
            continue  # texture, not noise alone
        level, noise_variance = float(mean[(mean >= low) & (mean < high)].mean()), q1 / _quartile_factor(BLOCK * BLOCK - 3)
        if not CLIP_MARGIN * np.sqrt(noise_variance) < level < 1 - CLIP_MARGIN * np.sqrt(noise_variance):
            continue  # the noise is clipped at black or white there: its variance reads low
        points.append((level, noise_variance))
        weights.append(len(members))
        used += len(members)
    if len(points) < MIN_GROUPS or points[-1][0] - points[0][0] < MIN_SPAN:
        raise DaeEdgeError(f"too little flat area to fit the noise ({len(points)} flat brightness levels of the "
                           f"{MIN_GROUPS} needed, over at least {MIN_SPAN:g} of the range); photograph a grey card under "
                           "uneven light, or give several flat frames of different brightness")
    x, v = np.array(points).T
    slope, intercept = np.polyfit(x, v, 1, w=np.sqrt(weights))
    if slope <= 0:
        raise DaeEdgeError("the noise does not grow with brightness in these frames, so its shot noise cannot be fitted; "
                           "give frames with flat areas from dark to bright")
    return NoiseFit(peak=float(1 / slope), sigma=float(np.sqrt(max(intercept, 0.0))), groups=len(points), blocks=used)
