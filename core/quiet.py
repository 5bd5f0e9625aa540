"""Keeping native libraries' chatter (LiteRT's XNNPACK notice, TensorFlow's converter logs) off the terminal."""
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

DEBUG_ENV = "DAE_EDGE_DEBUG"  # set by `dae-edge --debug`: then nothing is hidden


@contextmanager
def quiet(streams: tuple[int, ...] = (2,)) -> Iterator[None]:
    """Send what native code writes to these file descriptors (default: stderr) to /dev/null meanwhile."""
    if os.environ.get(DEBUG_ENV):
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(fd) for fd in streams]
    try:
        with open(os.devnull, "w") as null:
            for fd in streams:
                os.dup2(null.fileno(), fd)
            yield
    finally:
        for fd, copy in zip(streams, saved):
            os.dup2(copy, fd)
            os.close(copy)


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """For a whole command: native code's stderr (fd 2) goes to /dev/null, Python's sys.stderr to the terminal.

    TensorFlow logs through absl from C++ (oneDNN and CUDA notices, graph optimizer errors that are
    expected), ignoring TF_CPP_MIN_LOG_LEVEL for some of it; our own messages use sys.stderr.
    """
    if os.environ.get(DEBUG_ENV):
        yield
        return
    sys.stderr.flush()
    python_stderr, sys.stderr = sys.stderr, os.fdopen(os.dup(2), "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                                                     errors="backslashreplace")
    try:
        with quiet((2,)):
            yield
    finally:
        sys.stderr.close()
        sys.stderr = python_stderr
