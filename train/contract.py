"""The model's contract: what it was trained on and what it expects, written beside the model by train.

Export copies it into manifest.json, and the runtime reads polarity, patch and noise from there.
"""
import json
from pathlib import Path

from dae_edge.runtime.errors import DaeEdgeError
from dae_edge.train.config import ARCH_DOWNSAMPLING, TrainConfig
from dae_edge.train.sources import CONTRACT, CONTRACT_VERSION, Source


def make_contract(config: TrainConfig, source: Source) -> dict:
    return {
        "contract_version": CONTRACT_VERSION,
        "data": source.describe(),
        "patch": source.patch,
        "downsampling": ARCH_DOWNSAMPLING[config.arch],
        "channels": source.channels,
        "value_range": [0.0, 1.0],
        "polarity": source.polarity(),
        "noise": config.noise,
        "noise_seed": config.val_noise_seed,
    }


def read_contract(model_path: Path) -> dict:
    """The contract beside a .keras file; export refuses a model without one."""
    path = model_path.parent / CONTRACT
    if not path.is_file():
        raise DaeEdgeError(f"{model_path}: no {CONTRACT} beside it, so the data, patch, polarity and noise it was "
                           "trained for are unknown; export a model written by dae-edge train")
    try:
        contract = json.loads(path.read_text())
        version = contract["contract_version"]
        if not isinstance(version, int) or version > CONTRACT_VERSION:
            raise DaeEdgeError(f"{path}: contract_version {version} is newer than this dae-edge understands; upgrade dae-edge")
        for key in ("data", "patch", "downsampling", "polarity", "noise"):
            contract[key]  # noqa: B018 - each must be present
        return contract
    except (ValueError, KeyError, TypeError) as exc:
        raise DaeEdgeError(f"{path}: not a valid contract ({type(exc).__name__}: {exc})") from None
