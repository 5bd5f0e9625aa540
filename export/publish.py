"""Publishing a set of files so that readers see the old set or the new one, never a mix.

    out/.versions/v…/   each export's files, written and validated there
    out/.current        a symlink to the version in use: renaming a new one over it is the switch
    out/dae.onnx …      symlinks to .current/dae.onnx …, so paths stay the same across exports

A crash before the switch leaves the old set; one after it, the new set. Leftovers of a crashed
export (an unfinished version folder) are removed by the next export, which holds a lock so that
two exports into one folder never remove each other's work. Export removes only what it made: version
folders inside `.versions/` and the links it made; anything else in the way is refused in one line.
"""
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dae_edge.core.errors import DaeEdgeError
from dae_edge.core.files import sha256
from dae_edge.runtime.manifest import CURRENT, GOLDEN, MANIFEST, VERSIONS, plain_name, read_manifest

LOCK = ".export.lock"
VERSION_NAME = re.compile(r"^v\d{8}-\d{6}-[A-Za-z0-9_]+$")  # what mkdtemp below names a version folder


class PublishError(DaeEdgeError):
    """The folder holds something export must not touch, or the new set could not be written."""


@contextmanager
def export_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on `out` for one export; a second export waits for the first."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: concurrent exports into one folder are not guarded
        yield
        return
    try:  # never through a link: the lock file is ours, inside `out`
        fd = os.open(out / LOCK, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except OSError as exc:
        raise PublishError(f"{out / LOCK}: cannot open the export lock ({exc.strerror}); "
                           "it must be a plain file (remove it if it is a link)") from None
    with os.fdopen(fd, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ours(out: Path) -> None:
    """Refuse a `.versions` or `.current` that this tool did not make."""
    versions, current = out / VERSIONS, out / CURRENT
    if versions.is_symlink() or (versions.exists() and not versions.is_dir()):
        raise PublishError(f"{versions}: not a folder that dae-edge export made (a link, or a file); move it away and export again")
    if current.exists() and not current.is_symlink() or current.is_symlink() and Path(os.readlink(current)).parent != Path(VERSIONS):
        raise PublishError(f"{current}: not the link that dae-edge export makes (into {VERSIONS}/); move it away and export again")


def _replaceable(out: Path, name: str, old: dict | None) -> bool:
    """Whether `out/name` may become a link of the new set: absent, one of our links, or a plain file that the old
    manifest names with the same checksum (an export from before links), or that manifest itself."""
    path = out / name
    if path.is_symlink():
        return os.readlink(path).startswith(f"{CURRENT}/")
    if not path.exists():
        return True
    if not path.is_file():
        return False
    if name == MANIFEST:  # a manifest of ours, even one that names what it must not: replaced by a valid one
        return _looks_like_a_manifest(path)
    if old is None:
        return False
    listed = {f["file"]: f["sha256"] for a in old["artifacts"] for f in [a, *a.get("extra_files", [])]}
    listed[GOLDEN] = (old.get("golden") or {}).get("sha256")
    return listed.get(name) == sha256(path)


def _looks_like_a_manifest(path: Path) -> bool:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "format_version" in manifest and "artifacts" in manifest


def _replace_with_link(path: Path, target: str) -> None:
    """Make `path` a symlink to `target`, atomically replacing what is there (checked by _replaceable)."""
    if path.is_symlink() and os.readlink(path) == target:
        return
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


def _remove_versions(versions: Path, keep: set[str]) -> None:
    """Version folders of earlier exports (unfinished, or replaced); nothing else in `.versions` is touched."""
    for entry in versions.iterdir():
        if entry.name not in keep and VERSION_NAME.match(entry.name) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def _old_manifest(out: Path) -> dict | None:
    try:
        return read_manifest(out)
    except DaeEdgeError:
        return None  # a broken old manifest names nothing


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish_set(out: Path, build: Callable[[Path], list[str]]) -> None:
    """Call `build(folder)` to write the new files (returning their names), then switch `out` to them."""
    versions = out / VERSIONS
    _ours(out)
    made = [p for p in (out / LOCK, versions) if not p.exists() and not p.is_symlink()]  # removed again on failure
    try:
        with export_lock(out):
            _ours(out)
            versions.mkdir(exist_ok=True)
            _remove_versions(versions, {_in_use(out)})
            stage = Path(tempfile.mkdtemp(dir=versions, prefix=time.strftime("v%Y%m%d-%H%M%S-")))
            os.chmod(stage, 0o777 & ~_umask())  # readable as the files in it are, not by the owner alone
            try:
                names = [plain_name(name, "an exported artifact") for name in build(stage)]
                old = _old_manifest(out)
                blocked = [name for name in names if not _replaceable(out, name, old)]
                if blocked:
                    raise PublishError(f"{out / blocked[0]}: something that dae-edge export did not publish is where "
                                       f"{blocked[0]} belongs ({'a folder' if (out / blocked[0]).is_dir() else 'a file'}); "
                                       "move it away and export again")
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
            _remove_versions(versions, {stage.name})
    except OSError as exc:
        _undo(made)
        raise PublishError(f"{out}: could not write the export ({exc.strerror or exc}); nothing was published — "
                           "free some space or fix the folder, and export again") from None
    except BaseException:
        _undo(made)
        raise


def _undo(made: list[Path]) -> None:
    """Remove the lock file and `.versions` that this run made, where nothing was published into them."""
    for path in reversed(made):
        try:
            path.rmdir() if path.is_dir() else path.unlink()
        except OSError:  # not empty (another export's work) or gone: leave it
            pass
