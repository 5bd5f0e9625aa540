"""`dae-edge verify`: checksums and golden outputs of every artifact, on this device."""
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dae_edge.runtime.backends import open_backend
from dae_edge.runtime.errors import DaeEdgeError, RuntimeMissing
from dae_edge.runtime.files import sha256
from dae_edge.runtime.manifest import GOLDEN, MANIFEST, checksum_problem, read_manifest
from dae_edge.runtime.tolerances import agreement


@dataclass
class Check:
    file: str
    status: str  # "pass", "fail" or "skip"
    detail: str


def load_golden(folder: Path) -> dict[str, np.ndarray]:
    path = folder / GOLDEN
    try:
        with np.load(path, allow_pickle=False) as golden:
            return {key: golden[key] for key in golden.files if key != "labels"}
    except (OSError, KeyError, ValueError) as exc:
        raise DaeEdgeError(f"{path}: missing or unreadable golden set ({exc})") from None


def verify_artifact(folder: Path, entry: dict, golden: dict[str, np.ndarray], threads: int | None = None) -> Check:
    name = entry["file"]
    path = folder / name
    problem = checksum_problem(folder, entry)
    if problem:
        file, reason = problem
        return Check(name, "fail", reason if file == name else f"{file}: {reason}")
    try:
        backend = open_backend(path, threads or 1)
    except RuntimeMissing as exc:
        return Check(name, "skip", f"sha256 ok; {exc}")
    except DaeEdgeError as exc:
        return Check(name, "fail", str(exc))
    if any(key not in golden for key in ("inputs", "outputs", "clean")):
        return Check(name, "fail", f"{GOLDEN} lacks inputs, outputs or clean images")
    output = backend.run(golden["inputs"])
    figures, failures = agreement(entry["precision"], golden["outputs"], output, golden["clean"])
    detail = (f"sha256 ok; {len(output)} golden images on {backend.name}: max |Δ| {figures.get('max_abs', float('nan')):.2g}, "
              f"mean |Δ| {figures.get('mean_abs', float('nan')):.2g}")
    if "large_input" in golden:  # the same images as one larger picture: the artifact takes other sizes
        large = golden["large_input"]
        figures, failed = agreement(entry["precision"], golden["large_output"], backend.run(large), golden["large_clean"])
        failures += [f"{large.shape[1]}×{large.shape[2]}: {f}" for f in failed]
        detail += f"; {large.shape[1]}×{large.shape[2]} image: max |Δ| {figures.get('max_abs', float('nan')):.2g}"
    return Check(name, "fail" if failures else "pass", detail + ("; " + "; ".join(failures) if failures else ""))


def verify_folder(folder: Path, threads: int | None = None) -> Iterator[Check]:
    manifest = read_manifest(folder)
    if manifest is None:
        raise DaeEdgeError(f"{folder}: no {MANIFEST} here; point verify at a folder written by dae-edge export")
    golden_entry = manifest.get("golden", {})
    if not (folder / GOLDEN).is_file() or sha256(folder / GOLDEN) != golden_entry.get("sha256"):
        yield Check(GOLDEN, "fail", f"missing or checksum mismatch with {MANIFEST}")
        return
    golden = load_golden(folder)
    for entry in manifest["artifacts"]:
        yield verify_artifact(folder, entry, golden, threads)
