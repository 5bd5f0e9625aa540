"""manifest.json: what each exported artifact is, its checksum, and how it was validated."""
import json
from pathlib import Path

from dae_edge.runtime.errors import DaeEdgeError
from dae_edge.runtime.files import sha256

MANIFEST = "manifest.json"
GOLDEN = "golden.npz"


def read_manifest(folder: Path) -> dict | None:
    """The manifest in `folder`, or None where there is none."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        manifest["artifacts"]
    except (ValueError, KeyError, TypeError):
        raise DaeEdgeError(f"{path}: not a valid dae-edge manifest") from None
    return manifest


def artifact_entry(manifest: dict | None, name: str) -> dict | None:
    if manifest is None:
        return None
    return next((a for a in manifest["artifacts"] if a["file"] == name), None)


def check_checksum(path: Path, entry: dict) -> None:
    """Fail where the file is not the one the manifest describes."""
    actual = sha256(path)
    if actual != entry["sha256"]:
        raise DaeEdgeError(f"{path}: checksum mismatch with {MANIFEST} (the file is corrupt or was modified); "
                           f"expected {entry['sha256'][:12]}…, got {actual[:12]}…")
