"""manifest.json: what each exported artifact is, its checksum, and how it was validated.

Its structure is checked once, when it is read: every file it names must be a plain file name in
its own folder, and every artifact needs the fields the runtime uses.
"""
import json
import os
import re
from pathlib import Path

from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.files import sha256
from dae_edge.runtime.precision import Precision
from dae_edge.core.images import LIGHT_ON_DARK, POLARITIES

MANIFEST = "manifest.json"
GOLDEN = "golden.npz"
FORMAT_VERSION = 3  # 2: artifacts take any image size (multiple_of, receptive_radius); 3: the contract, input.polarity may differ
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(DaeEdgeError):
    """manifest.json is not one this runtime can trust."""


def plain_name(name: object, where: str) -> str:
    """`name` if it is a plain file name (no folder, no '..', not absolute, not hidden), else an error."""
    if (not isinstance(name, str) or not name or name in (".", "..") or name.startswith(".")
            or any(c in name for c in "/\\\0") or Path(name).is_absolute()):
        raise ManifestError(f"{where}: {name!r} is not a plain file name in the manifest's folder")
    return name


def _check_entry(entry: object, where: str) -> None:
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: expected an object with file and sha256, got {type(entry).__name__}")
    plain_name(entry.get("file"), f"{where}.file")
    if not isinstance(entry.get("sha256"), str) or not _SHA256.match(entry["sha256"]):
        raise ManifestError(f"{where}: missing or malformed sha256")


def validate(manifest: object, path: Path) -> dict:
    """The manifest, if its structure is one this runtime understands; else a one-line error."""
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path}: not a dae-edge manifest (expected a JSON object)")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise ManifestError(f"{path}: no format_version")
    if version > FORMAT_VERSION:
        raise ManifestError(f"{path}: format_version {version} is newer than this dae-edge understands "
                            f"({FORMAT_VERSION}); upgrade dae-edge")
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, list) or not artifacts:
        raise ManifestError(f"{path}: 'artifacts' must be a non-empty list")
    for i, entry in enumerate(artifacts):
        _check_entry(entry, f"{path}: artifacts[{i}]")
        extra = entry.get("extra_files", [])
        if not isinstance(extra, list):
            raise ManifestError(f"{path}: artifacts[{i}].extra_files must be a list")
        for j, file in enumerate(extra):
            _check_entry(file, f"{path}: artifacts[{i}].extra_files[{j}]")
        if entry.get("precision") not in {p.value for p in Precision}:
            raise ManifestError(f"{path}: artifacts[{i}].precision must be one of {', '.join(p.value for p in Precision)}")
    if "golden" in manifest:
        _check_entry(manifest["golden"], f"{path}: golden")
    model_input = manifest.get("input", {})
    if not isinstance(model_input, dict):
        raise ManifestError(f"{path}: 'input' must be an object")
    for key in ("multiple_of", "receptive_radius", "margin"):
        if not isinstance(model_input.get(key, 0), int) or model_input.get(key, 0) < 0:
            raise ManifestError(f"{path}: input.{key} must be a whole number")
    activation = model_input.get("largest_activation", 1)
    if isinstance(activation, bool) or not isinstance(activation, (int, float)) or not activation > 0:
        raise ManifestError(f"{path}: input.largest_activation must be a number above 0")
    if model_input.get("polarity", LIGHT_ON_DARK) not in POLARITIES:
        raise ManifestError(f"{path}: input.polarity {model_input['polarity']!r} is not one of {', '.join(POLARITIES)}")
    return manifest


VERSIONS, CURRENT = ".versions", ".current"  # how export publishes (export/publish.py): the version folder in use


def published_version(folder: Path) -> Path:
    """The version folder that an export published in `folder`, its .current link resolved once, so that one read
    sees one version; `folder` itself where it has no .current (a copy that followed links, or no export)."""
    link = folder / CURRENT
    if not link.is_symlink():
        return folder
    target = Path(os.readlink(link))
    name = target.name
    if target.parts != (VERSIONS, name) or name.startswith(".") or (folder / VERSIONS).is_symlink():
        raise ManifestError(f"{link}: points to {target}, not to a version inside {folder / VERSIONS}; export the model again")
    version = folder / VERSIONS / name
    if version.is_symlink() or not version.is_dir():
        raise ManifestError(f"{link}: its version {version} is missing; export the model again")
    return version


def read_manifest(folder: Path) -> dict | None:
    """The validated manifest in `folder`, or None where there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise ManifestError(f"{path}: not valid JSON ({exc})") from None
    return validate(manifest, path)


def artifact_entry(manifest: dict | None, name: str) -> dict | None:
    if manifest is None:
        return None
    return next((a for a in manifest["artifacts"] if a["file"] == name), None)


def artifact_files(entry: dict) -> list[str]:
    """An artifact's main file, then the files beside it that it needs (a weights file next to its graph)."""
    return [entry["file"], *(extra["file"] for extra in entry.get("extra_files", []))]


def checksum_problem(folder: Path, entry: dict) -> tuple[str, str] | None:
    """(file, what is wrong) for the first of an artifact's files in `folder` that is missing or not the bytes
    the manifest names; None where all are right."""
    for file in [entry, *entry.get("extra_files", [])]:
        path = folder / file["file"]
        if not path.is_file():
            return file["file"], "missing"
        actual = sha256(path)
        if actual != file["sha256"]:
            return file["file"], (f"checksum mismatch with {MANIFEST} (the file is corrupt or was modified); "
                                   f"expected {file['sha256'][:12]}…, got {actual[:12]}…")
    return None


def check_checksum(path: Path, entry: dict) -> None:
    """Fail where the artifact's files are not the ones the manifest describes."""
    problem = checksum_problem(path.parent, entry)
    if problem:
        raise DaeEdgeError(f"{path.parent / problem[0]}: {problem[1]}")
