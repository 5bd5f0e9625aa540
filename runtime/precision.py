"""Precisions an artifact is stored in, each with how closely it must reproduce the Keras model, and the one
check that applies it (export's gate, `verify` on a device and the parity tests all call `agreement`)."""
from __future__ import annotations  # numpy is imported where it is used: the CLI starts without it

from dataclasses import dataclass
from enum import Enum

from dae_edge.core.errors import DaeEdgeError

# One step of an 8-bit output in [0, 1].
INT8_STEP = 1 / 256


@dataclass(frozen=True)
class Tolerance:
    max_abs: float | None = None  # largest |output − Keras| of any pixel
    mean_abs: float | None = None  # mean |output − Keras|
    psnr_drop_db: float | None = None  # mean PSNR against the clean images may fall this far below Keras's


class Precision(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    int8 = "int8"

    @classmethod
    def of(cls, value: object) -> "Precision":
        """The precision a manifest or an option names; anything else is an error, never a guess."""
        try:
            return cls(value)
        except ValueError:
            raise DaeEdgeError(f"unknown precision {value!r}: expected one of {', '.join(p.value for p in cls)}") from None

    @property
    def tolerance(self) -> Tolerance:
        return TOLERANCES[self]

    @property
    def suffix(self) -> str:
        """What an artifact's file name carries: dae.onnx, dae_fp16.tflite, dae_int8.tflite."""
        return "" if self is Precision.fp32 else f"_{self.value}"


TOLERANCES = {
    # float32 runtimes sum convolutions in other orders (im2col, Winograd, fused kernels); on outputs in
    # [0, 1] that moves a pixel by 1e-7 to 1e-6. 1e-5 leaves a margin of ten and still catches any real
    # change of weights.
    Precision.fp32: Tolerance(max_abs=1e-5),
    # float16 weights (11 significant bits, relative error 2^-12) computed in float32: pixels move by
    # about 1e-4 to 1e-3; a quarter of an 8-bit step on average, and no visible cost in PSNR.
    Precision.fp16: Tolerance(max_abs=8 * INT8_STEP, mean_abs=INT8_STEP / 4, psnr_drop_db=0.05),
    # int8 rounds every activation; single pixels move by tens of steps (by nature, so not bounded), but on
    # average a faithful int8 model stays within a few steps of the float model, and loses little PSNR.
    Precision.int8: Tolerance(mean_abs=3 * INT8_STEP, psnr_drop_db=0.5),
}


def differences(reference: np.ndarray, output: np.ndarray) -> dict:
    import numpy as np

    diff = np.abs(output.astype(np.float64) - reference.astype(np.float64))
    return {"max_abs": float(diff.max()), "mean_abs": float(diff.mean()),
            "max_at": [int(i) for i in np.unravel_index(int(diff.argmax()), diff.shape)]}


def agreement(precision: Precision | str, reference: np.ndarray, output: np.ndarray, clean: np.ndarray) -> tuple[dict, list[str]]:
    """Figures comparing `output` with the Keras `reference`, and the failed checks, if any. Every comparison is
    written so that NaN fails it."""
    from dae_edge.core.metrics import psnr

    tolerance = Precision.of(precision).tolerance
    if output.shape != reference.shape:
        return {}, [f"shape {output.shape} differs from the reference's {reference.shape}"]
    figures = differences(reference, output)
    figures["psnr"] = float(psnr(clean, output).mean())
    figures["psnr_reference"] = float(psnr(clean, reference).mean())
    failures = []
    if tolerance.max_abs is not None and not figures["max_abs"] <= tolerance.max_abs:
        failures.append(f"max |Δ| {figures['max_abs']:.3g} > {tolerance.max_abs:.0e} at {figures['max_at']}")
    if tolerance.mean_abs is not None and not figures["mean_abs"] <= tolerance.mean_abs:
        failures.append(f"mean |Δ| {figures['mean_abs']:.4f} > {tolerance.mean_abs:.4f} "
                        f"({tolerance.mean_abs / INT8_STEP:.2g} steps)")
    drop = figures["psnr_reference"] - figures["psnr"]
    if tolerance.psnr_drop_db is not None and not drop <= tolerance.psnr_drop_db:
        failures.append(f"PSNR {figures['psnr']:.2f} dB is {drop:.2f} dB below the reference's (limit {tolerance.psnr_drop_db})")
    return figures, failures
