"""The model's contract: what it was trained on and what it expects, written beside the model by train.

Export copies it into manifest.json, and the runtime reads polarity, patch and noise from there. It is
checked whole when it is read, as the manifest is: a tampered contract is one line, never a traceback.
"""
import json
from pathlib import Path

from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.images import POLARITIES
from dae_edge.core.noise import Noise
from dae_edge.core.data_config import DataConfig

CONTRACT = "contract.json"
CONTRACT_VERSION = 1
SELF_SUPERVISED = "neighbor2neighbor"  # the method a self-supervised model was trained with, as the contract names it
NOISE2NOISE = "noise2noise"  # the same, learnt from bursts (pairs of noisy shots of one scene)
FOLDER_KEYS = ("path", "resolved", "files", "files_sha256", "patch", "pad", "val_fraction", "patches_per_epoch",
               "val_patches", "seed", "given", "validation")


class ContractError(DaeEdgeError):
    """contract.json is not one this dae-edge can use."""


def _whole(value: object, name: str, low: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return value


def check_contract(contract: object) -> dict:
    """The contract, if every field the code reads is there and sensible; else ValueError naming the first that is not."""
    if not isinstance(contract, dict):
        raise ValueError("expected a JSON object")
    version = contract.get("contract_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"contract_version {version!r} is not a version number")
    if version > CONTRACT_VERSION:
        raise ValueError(f"contract_version {version} is newer than this dae-edge understands ({CONTRACT_VERSION}); "
                         "upgrade dae-edge")
    data = contract.get("data")
    if not isinstance(data, dict) or data.get("kind") not in ("idx", "folder", "bursts"):
        raise ValueError("data must be an object whose kind is idx, folder or bursts")
    patch, multiple = _whole(contract.get("patch"), "patch"), _whole(contract.get("downsampling"), "downsampling")
    if patch % multiple:
        raise ValueError(f"patch {patch} is not a multiple of downsampling {multiple}")
    if contract.get("channels", 1) not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {contract.get('channels')!r}")
    if contract.get("polarity") not in POLARITIES:
        raise ValueError(f"polarity {contract.get('polarity')!r} is not one of {', '.join(POLARITIES)}")
    if not isinstance(contract.get("noise"), str):
        raise ValueError("noise must be a spec such as gaussian:0.5")
    Noise.parse(contract["noise"])
    if not isinstance(contract.get("val_noise", contract["noise"]), str):
        raise ValueError("val_noise must be a spec such as gaussian:0.1")
    Noise.parse(contract.get("val_noise", contract["noise"]))
    if contract.get("self_supervised") not in (None, SELF_SUPERVISED, NOISE2NOISE):
        raise ValueError(f"self_supervised {contract.get('self_supervised')!r} is not a method this dae-edge knows")
    _whole(contract.get("noise_seed"), "noise_seed", 0)
    if data["kind"] in ("folder", "bursts"):
        missing = [key for key in FOLDER_KEYS if key not in data]
        if missing:
            raise ValueError(f"data.{missing[0]} is missing")
        if not isinstance(data["validation"], dict) or not isinstance(data["validation"].get("files"), list) \
                or not isinstance(data["validation"].get("resolved"), str) or not isinstance(data["given"], dict):
            raise ValueError("data.validation must name its folder (resolved) and files, and data.given what was given")
        if not all(isinstance(data[key], str) for key in ("path", "resolved", "files_sha256")):
            raise ValueError("data.path, data.resolved and data.files_sha256 must be text")
        _whole(data["files"], "data.files", 0)
        _whole(data["seed"], "data.seed", 0)
        data_config(data)
    return contract


def data_config(data: dict) -> DataConfig:
    """The folder options a contract recorded (DataConfig checks their ranges)."""
    for key in ("patch", "patches_per_epoch", "val_patches"):
        _whole(data[key], f"data.{key}")
    if not isinstance(data["pad"], bool) or not isinstance(data["val_fraction"], (int, float)):
        raise ValueError("data.pad must be true or false, data.val_fraction a number")
    return DataConfig(patch=data["patch"], val_fraction=data["val_fraction"], pad=data["pad"],
                      patches_per_epoch=data["patches_per_epoch"], val_patches=data["val_patches"],
                      channels=data.get("channels", 1))


def read_contract(model_path: Path) -> dict:
    """The contract beside a .keras file; export refuses a model without one."""
    path = model_path.parent / CONTRACT
    if not path.is_file():
        raise ContractError(f"{model_path}: no {CONTRACT} beside it, so the data, patch, polarity and noise it was "
                            "trained for are unknown; export a model written by dae-edge train")
    try:
        return check_contract(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise ContractError(f"{path}: not a valid contract ({exc}); retrain, or restore the file dae-edge train wrote") from None
