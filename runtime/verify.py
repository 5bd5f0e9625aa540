"""Checking an artifact against the Keras model's outputs: export's gate and `dae-edge verify` on a device."""
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dae_edge.core.errors import DaeEdgeError, RuntimeMissing
from dae_edge.core.files import sha256
from dae_edge.runtime.backends import Backend, open_backend
from dae_edge.runtime.manifest import GOLDEN, MANIFEST, checksum_problem, published_version, read_manifest
from dae_edge.runtime.precision import Precision, agreement

Case = tuple[np.ndarray, np.ndarray, np.ndarray]  # noisy inputs, the Keras model's outputs, the clean images


@dataclass
class Check:
    file: str
    status: str  # "pass", "fail" or "skip"
    detail: str


def validate(backend: Backend, cases: dict[str, Case], precision: Precision | str) -> tuple[dict[str, dict], list[str]]:
    """Run the backend on each case; its figures against Keras and the clean images, and every failed check,
    named by its case."""
    figures, failures = {}, []
    for name, (noisy, reference, clean) in cases.items():
        figures[name], failed = agreement(precision, reference, backend.run(noisy), clean)
        failures += [f"{name}: {f}" for f in failed]
    return figures, failures


def load_golden(folder: Path) -> dict[str, np.ndarray]:
    path = folder / GOLDEN
    try:
        with np.load(path, allow_pickle=False) as golden:
            return {key: golden[key] for key in golden.files if key != "labels"}
    except (OSError, KeyError, ValueError) as exc:
        raise DaeEdgeError(f"{path}: missing or unreadable golden set ({exc})") from None


def golden_cases(golden: dict[str, np.ndarray]) -> dict[str, Case]:
    """The golden images, and where there are, the same images as one larger picture (the artifact takes other sizes)."""
    cases = {f"{len(golden['inputs'])} golden images": (golden["inputs"], golden["outputs"], golden["clean"])}
    if "large_input" in golden:
        large = golden["large_input"]
        cases[f"{large.shape[1]}×{large.shape[2]} image"] = (large, golden["large_output"], golden["large_clean"])
    return cases


def verify_artifact(folder: Path, entry: dict, golden: dict[str, np.ndarray], threads: int | None = None) -> Check:
    name = entry["file"]
    problem = checksum_problem(folder, entry)
    if problem:
        file, reason = problem
        return Check(name, "fail", reason if file == name else f"{file}: {reason}")
    try:
        backend = open_backend(folder / name, threads or 1)
    except RuntimeMissing as exc:
        return Check(name, "skip", f"sha256 ok; {exc}")
    except DaeEdgeError as exc:
        return Check(name, "fail", str(exc))
    figures, failures = validate(backend, golden_cases(golden), entry["precision"])
    detail = f"sha256 ok; on {backend.name}: " + "; ".join(
        f"{case}: max |Δ| {f.get('max_abs', float('nan')):.2g}, mean |Δ| {f.get('mean_abs', float('nan')):.2g}"
        for case, f in figures.items())
    return Check(name, "fail" if failures else "pass", detail + ("; " + "; ".join(failures) if failures else ""))


def verify_folder(folder: Path, threads: int | None = None) -> Iterator[Check]:
    """Every artifact of the version published in `folder` (looked up once: an export meanwhile cannot mix sets)."""
    folder = published_version(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise DaeEdgeError(f"{folder}: no {MANIFEST} here; point verify at a folder written by dae-edge export")
    golden_entry = manifest.get("golden", {})
    if not (folder / GOLDEN).is_file() or sha256(folder / GOLDEN) != golden_entry.get("sha256"):
        yield Check(GOLDEN, "fail", f"missing or checksum mismatch with {MANIFEST}")
        return
    golden = load_golden(folder)
    if any(key not in golden for key in ("inputs", "outputs", "clean")):
        yield Check(GOLDEN, "fail", f"{GOLDEN} lacks inputs, outputs or clean images")
        return
    for entry in manifest["artifacts"]:
        yield verify_artifact(folder, entry, golden, threads)
