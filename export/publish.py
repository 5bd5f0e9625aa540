"""Publishing a set of files so that readers see the old set or the new one, never a mix.

    out/.versions/v…/   each export's files, written and validated there
    out/.current        a symlink to the version in use: renaming a new one over it is the switch
    out/dae.onnx …      symlinks to .current/dae.onnx …, so paths stay the same across exports

A crash before the switch leaves the old set; one after it, the new set. Leftovers of a crashed
export (an unfinished version folder) are removed by the next export, which holds a lock so that
two exports into one folder never remove each other's work.
"""
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dae_edge.core.errors import DaeEdgeError
from dae_edge.runtime.manifest import artifact_files, plain_name, read_manifest

VERSIONS = ".versions"
CURRENT = ".current"
LOCK = ".export.lock"


@contextmanager
def export_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on `out` for one export; a second export waits for the first."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: concurrent exports into one folder are not guarded
        yield
        return
    with open(out / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace_with_link(path: Path, target: str) -> None:
    """Make `path` a symlink to `target`, atomically replacing whatever is there."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    if path.is_dir() and not path.is_symlink():  # a copy that followed the links: not ours to keep
        shutil.rmtree(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, path)


def _fsync_folder(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _in_use(out: Path) -> str | None:
    link = out / CURRENT
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _plain_files_of_old_manifest(out: Path) -> set[str]:
    """Names in the old manifest (checked to be plain names) that are regular files, not our links."""
    try:
        old = read_manifest(out) or {"artifacts": []}
    except DaeEdgeError:
        return set()  # a broken old manifest is replaced, and names nothing to remove
    names = {name for entry in old["artifacts"] for name in artifact_files(entry)}
    return {name for name in names if (out / name).is_file() and not (out / name).is_symlink()}


def publish_set(out: Path, build: Callable[[Path], list[str]]) -> None:
    """Call `build(folder)` to write the new files (returning their names), then switch `out` to them."""
    versions = out / VERSIONS
    with export_lock(out):
        versions.mkdir(exist_ok=True)
        for stale in versions.iterdir():  # unfinished or replaced versions of earlier exports
            if stale.name != _in_use(out):
                shutil.rmtree(stale, ignore_errors=True)
        legacy = _plain_files_of_old_manifest(out)
        stage = Path(tempfile.mkdtemp(dir=versions, prefix=time.strftime("v%Y%m%d-%H%M%S-")))
        try:
            names = [plain_name(name, "an exported artifact") for name in build(stage)]
            _fsync_folder(stage)
            _replace_with_link(out / CURRENT, f"{VERSIONS}/{stage.name}")  # the switch
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        for name in names:
            _replace_with_link(out / name, f"{CURRENT}/{name}")
        for path in out.iterdir():  # links of an earlier export to files this one no longer has
            if path.is_symlink() and os.readlink(path).startswith(f"{CURRENT}/") and not path.exists():
                path.unlink()
        for name in legacy - set(names):  # plain files of an export from before this layout
            (out / name).unlink(missing_ok=True)
        for old in versions.iterdir():
            if old != stage:
                shutil.rmtree(old, ignore_errors=True)
