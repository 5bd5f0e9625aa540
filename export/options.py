"""Export options: one dataclass, whose defaults the CLI shows (no heavy imports here)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class ExportOptions:
    int8: bool = False
    fp16: bool = False  # also float16-weight artifacts, in the formats that store them (TFLite): half the size of fp32
    calibration_images: int = 300  # a few hundred real noisy images pin down int8 ranges
    validation_images: int = 500  # held-out noisy images each artifact is compared on
    seed: int = 0
    leave_out: tuple[str, ...] = ()  # artifact files not to make, e.g. ("dae_int8.tflite",) where one cannot pass its gate
