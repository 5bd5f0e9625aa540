"""Writing the model's contract (core/contract.py reads and checks it)."""
from dae_edge.core.contract import CONTRACT_VERSION, NOISE2NOISE, SELF_SUPERVISED
from dae_edge.core.sources import Source
from dae_edge.train.config import ARCH_DOWNSAMPLING, TrainConfig


def make_contract(config: TrainConfig, source: Source) -> dict:
    return {
        "contract_version": CONTRACT_VERSION,
        "data": source.describe(),
        "patch": source.patch,
        "downsampling": ARCH_DOWNSAMPLING[config.arch],
        "channels": source.channels,
        "value_range": [0.0, 1.0],
        "polarity": source.polarity(),
        "noise": config.noise,  # "none" where the pictures were noisy already (self-supervised)
        "val_noise": config.validation_noise,  # what the validation pictures got
        "self_supervised": (NOISE2NOISE if config.bursts else SELF_SUPERVISED) if config.self_supervised else None,
        "noise_seed": config.val_noise_seed,
    }
