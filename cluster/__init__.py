"""Batch denoising on a Ray cluster: `dae-edge run --cluster ADDRESS`, or `denoise_folder` from Python."""
from dae_edge.cluster.batch import Counts, denoise_folder

__all__ = ["Counts", "denoise_folder"]
