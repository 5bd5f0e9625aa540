"""Opening the training data: MNIST or IDX files, or a folder of pictures, as the user names it or as a
model's contract recorded it."""
from pathlib import Path

from dae_edge.core.bursts import BurstSource
from dae_edge.core.contract import check_contract
from dae_edge.core.folder import FolderSource
from dae_edge.core.idx import IDX_FILES
from dae_edge.core.idx_source import IdxSource
from dae_edge.core.data_config import DataConfig
from dae_edge.core.sources import Source, SourceError


FOLDER_SOURCES = {source.kind: source for source in (FolderSource, BurstSource)}  # by the contract's data kind


def is_idx_folder(path: Path) -> bool:
    """A folder (or .npz) in MNIST's form, rather than a folder of pictures."""
    if path.is_file():
        return path.suffix == ".npz"
    return (path / "mnist.npz").is_file() or any((path / f"{IDX_FILES['x_train']}{ext}").is_file() for ext in ("", ".gz"))


def open_source(path: Path | None, config: DataConfig, seed: int, val_data: Path | None = None,
                limit: int | None = None, bursts: bool = False) -> Source:
    """MNIST (the default, or IDX files at `path`), a folder of pictures, or with `bursts` a folder of bursts."""
    if path is None or is_idx_folder(Path(path)):
        if bursts:
            raise SourceError("--bursts: MNIST's digits are clean single images; point --data at a folder of bursts "
                              "(a sub-folder of noisy shots per scene)")
        if val_data is not None:
            raise SourceError("--val-data is for folders of pictures; IDX data brings its own test images")
        source = IdxSource.load(path, limit)
        if config.patch is not None and config.patch != source.patch:
            raise SourceError(f"--patch {config.patch}: IDX images are {source.patch}×{source.patch} and are used whole; "
                              "leave --patch out")
        return source
    if not Path(path).is_dir():
        raise SourceError(f"--data {path}: no such folder; give a folder of pictures, or of MNIST's IDX files")
    if limit is not None:
        raise SourceError("--limit is for IDX data; a folder's epoch is --patches-per-epoch patches")
    return (BurstSource if bursts else FolderSource).open(Path(path), config, seed, val_data)


def source_from_contract(contract: dict, override: Path | None = None, val_override: Path | None = None) -> Source:
    """The source a model was trained on, as its contract names it; the overrides point at moved folders."""
    try:
        contract = check_contract(contract)
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"the model's contract is not valid ({exc}); export the model again") from None
    data = contract["data"]
    if data["kind"] in FOLDER_SOURCES:
        return FOLDER_SOURCES[data["kind"]].from_contract(data, override, val_override)
    path = override if override is not None else (Path(data["resolved"]) if data.get("resolved") else None)
    source = IdxSource.load(path)
    if data.get("images_sha256") not in (None, source.sha256()):
        raise SourceError(f"{path or 'the default MNIST'}: not the images the model was trained on (their hash differs); "
                          "pass --data with the training data")
    return source
