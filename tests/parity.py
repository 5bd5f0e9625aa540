"""One parity helper for every pair of formats, and the tolerances it applies."""
import numpy as np

from dae_edge.runtime.precision import TOLERANCES, Precision, Tolerance

# float32 against float32: the export gate's bound (kernels only re-associate sums).
FP32 = TOLERANCES[Precision.fp32]
# float16 weights against float: the gate's bounds on single pixels and on the mean.
FP16 = TOLERANCES[Precision.fp16]
# int8 against float: a few output quantization steps on average; single pixels are not bounded.
INT8 = TOLERANCES[Precision.int8]
# int8 against int8 of another runtime: each is within INT8 of the float model.
INT8_PAIR = Tolerance(mean_abs=2 * INT8.mean_abs)
BY_PRECISION = {"fp32": FP32, "fp16": FP16, "int8": INT8}
# Through PNG files the results are rounded to 8 bits: half a step each side, so one step apart.
PNG_STEP = 1 / 255


def assert_close(name: str, reference: np.ndarray, output: np.ndarray, tolerance: Tolerance) -> None:
    """Shapes, dtypes and values agree within `tolerance`; a failure names the pair and the worst pixel."""
    assert output.shape == reference.shape, f"{name}: shape {output.shape} != reference {reference.shape}"
    assert output.dtype == reference.dtype, f"{name}: dtype {output.dtype} != reference {reference.dtype}"
    diff = np.abs(output.astype(np.float64) - reference.astype(np.float64))
    worst = tuple(int(i) for i in np.unravel_index(int(diff.argmax()), diff.shape))
    where = f"{name} ({output.dtype}{list(output.shape)}): max |Δ| {diff.max():.3g} at {worst}, mean |Δ| {diff.mean():.3g}"
    if tolerance.max_abs is not None:
        assert diff.max() <= tolerance.max_abs, f"{where} > max {tolerance.max_abs:.3g}"
    if tolerance.mean_abs is not None:
        assert diff.mean() <= tolerance.mean_abs, f"{where} > mean {tolerance.mean_abs:.3g}"
