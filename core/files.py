"""Writing files so that a failure never leaves a half-written or broken file in place."""
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dae_edge.core.errors import DaeEdgeError


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_writable_dir(folder: Path) -> Path:
    """Create `folder` if needed and check that files can be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise DaeEdgeError(f"{folder}: cannot write there ({exc.strerror or exc})") from None
    return folder


@contextmanager
def staging_dir(folder: Path) -> Iterator[Path]:
    """A temporary folder inside `folder` (same file system, so moves are atomic), removed on exit."""
    stage = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish(stage: Path, folder: Path, names: list[str]) -> None:
    """Move each staged file into `folder`, replacing any old one atomically."""
    for name in names:
        os.replace(stage / name, folder / name)


@contextmanager
def output_folder(folder: Path) -> Iterator[Path]:
    """`folder`, created if needed and checked writable; if the command then fails, the folders it
    created are removed again where they are still empty, so a failure leaves nothing behind."""
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    ensure_writable_dir(folder)
    try:
        yield folder
    except BaseException:
        for path in created:  # deepest first
            try:
                path.rmdir()
            except OSError:  # not empty (a checkpoint to resume from) or not ours to remove
                break
        raise


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to a temporary name unique to this process beside `path`, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DaeEdgeError(f"{path}: cannot write ({exc.strerror or exc})") from None
