"""Every import points down a floor: core < runtime < cluster < train < export < bench < app (lazy imports too)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOORS = ("core", "runtime", "cluster", "train", "export", "bench", "app")  # bottom first; each imports only below
HEAVY = {"tensorflow", "keras", "tf2onnx", "onnx", "matplotlib", "typer", "ray"}  # never in core or runtime


def imports(path: Path) -> list[tuple[str, int]]:
    """(module, line) of every import in a file, those inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
            if node.module == "dae_edge":
                found += [(f"dae_edge.{alias.name}", node.lineno) for alias in node.names]
    return found


def floor_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "dae_edge" and parts[1] in FLOORS else None


def violations(floors: tuple[str, ...] = FLOORS, root: Path = ROOT) -> list[str]:
    found = []
    for rank, floor in enumerate(floors):
        for path in sorted((root / floor).rglob("*.py")):
            for module, line in imports(path):
                target = floor_of(module)
                if target is not None and floors.index(target) > rank:
                    found.append(f"{path.relative_to(root)}:{line} imports {module}, a floor above {floor}")
                if floor in ("core", "runtime") and module.split(".")[0] in HEAVY:
                    found.append(f"{path.relative_to(root)}:{line} imports {module}, which the edge install lacks")
    return found


def test_every_import_points_down_a_floor():
    assert violations() == []


def test_the_check_sees_an_import_that_points_up(tmp_path):
    for floor in FLOORS:
        (tmp_path / floor).mkdir()
    (tmp_path / "core" / "bad.py").write_text("def f():\n    from dae_edge.runtime.denoiser import Denoiser\n")
    (tmp_path / "runtime" / "heavy.py").write_text("import tensorflow\n")
    (tmp_path / "app" / "fine.py").write_text("from dae_edge.core.errors import DaeEdgeError\n")
    found = violations(root=tmp_path)
    assert len(found) == 2 and "core/bad.py:2" in found[0] and "tensorflow" in found[1]


def test_no_cycle_between_folders():
    """Folders import each other one way only (a cycle would need an import pointing up, which the ranks forbid,
    but a folder left out of FLOORS would escape them): every package folder has a floor."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "models"}
    assert packages == set(FLOORS)
