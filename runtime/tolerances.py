"""How closely an exported model must reproduce the Keras model, and the one check that applies it."""
import numpy as np

from dae_edge.runtime.metrics import psnr

# float32 runtimes sum convolutions in other orders (im2col, Winograd, fused kernels); on sigmoid
# outputs in [0, 1] that moves a pixel by 1e-7 to 1e-6. 1e-5 leaves a margin of ten and still
# catches any real change of weights.
FP32_MAX_ABS = 1e-5
# One step of an 8-bit output in [0, 1].
INT8_STEP = 1 / 256
# int8 rounds every activation; single pixels move by tens of steps (by nature, so not bounded),
# but on average a faithful int8 model stays within a few steps of the float model.
INT8_MEAN_ABS = 3 * INT8_STEP
# The task-level check: int8 may cost at most this much mean PSNR against the clean digits.
INT8_PSNR_DROP_DB = 0.5


def differences(reference: np.ndarray, output: np.ndarray) -> dict:
    diff = np.abs(output.astype(np.float64) - reference.astype(np.float64))
    return {"max_abs": float(diff.max()), "mean_abs": float(diff.mean()),
            "max_at": [int(i) for i in np.unravel_index(int(diff.argmax()), diff.shape)]}


def agreement(precision: str, reference: np.ndarray, output: np.ndarray, clean: np.ndarray) -> tuple[dict, list[str]]:
    """Figures comparing `output` with the Keras `reference`, and the failed checks, if any."""
    if output.shape != reference.shape:
        return {}, [f"shape {output.shape} differs from the reference's {reference.shape}"]
    figures = differences(reference, output)
    figures["psnr"] = float(psnr(clean, output).mean())
    figures["psnr_reference"] = float(psnr(clean, reference).mean())
    failures = []
    if precision == "fp32" and figures["max_abs"] > FP32_MAX_ABS:
        failures.append(f"max |Δ| {figures['max_abs']:.3g} > {FP32_MAX_ABS:.0e} at {figures['max_at']}")
    if precision == "int8":
        if figures["mean_abs"] > INT8_MEAN_ABS:
            failures.append(f"mean |Δ| {figures['mean_abs']:.4f} > {INT8_MEAN_ABS:.4f} ({INT8_MEAN_ABS / INT8_STEP:.0f} steps)")
        drop = figures["psnr_reference"] - figures["psnr"]
        if drop > INT8_PSNR_DROP_DB:
            failures.append(f"PSNR {figures['psnr']:.2f} dB is {drop:.2f} dB below the reference's (limit {INT8_PSNR_DROP_DB})")
    return figures, failures
