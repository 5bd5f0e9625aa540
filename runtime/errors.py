"""Errors that a user can act on: the CLI prints them as one line."""


class DaeEdgeError(Exception):
    """A problem with the user's input, files or environment, with a message that says what to do."""


class RuntimeMissing(DaeEdgeError):
    """The runtime a model needs is not installed; the message names the extra that installs it."""
