"""Errors that a user can act on: the CLI prints them as one line."""


class DaeEdgeError(Exception):
    """A problem with the user's input, files or environment, with a message that says what to do."""


class RuntimeMissing(DaeEdgeError):
    """The runtime a model needs is not installed; the message names the extra that installs it."""


def require_training_stack(command: str) -> None:
    """Fail in one line where TensorFlow or Keras is missing (the base install is the runtime only)."""
    from importlib.util import find_spec

    missing = [name for name in ("tensorflow", "keras") if find_spec(name) is None]
    if missing:
        raise DaeEdgeError(f"{command} needs {' and '.join(missing)}, which the edge runtime does not install: "
                           "pip install 'dae-edge[train]'")
