"""Expanding the inputs of `dae-edge run` (files, folders, globs) and naming their outputs."""
import glob
import os
from pathlib import Path

from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.images import COMPARE_TAG, IMAGE_SUFFIXES, OUTPUT_TAG, is_our_output


def _folder_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not is_our_output(p))


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files as given, folders as the images directly inside them, globs as their matches; no repeats."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            images = _folder_images(path)
            if not images:
                raise DaeEdgeError(f"{path}: no images in this folder ({', '.join(sorted(IMAGE_SUFFIXES))})")
            found += images
        elif glob.has_magic(item) and not path.exists():
            matches = sorted(Path(m) for m in glob.glob(item) if Path(m).is_file() and not is_our_output(Path(m)))
            if not matches:
                raise DaeEdgeError(f"{item}: no file matches this pattern")
            found += matches
        else:
            found.append(path)  # a missing file is reported with the others that fail
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(resolved(path), path)  # the same file named twice is denoised once, as the user named it
    return list(unique.values())


def resolved(path: Path) -> Path:
    """The path with links resolved; a link loop (which Path.resolve raises on) stays as it is, to be refused when read."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return Path(os.path.abspath(path))


def output_path(source: Path, out: Path | None, tag: str = OUTPUT_TAG) -> Path:
    """`name.denoised.png` in `out` or beside the input; PNG keeps the result lossless."""
    return (out or source.parent) / f"{source.stem}{tag}.png"
