"""The `dae-edge` command line: one function per command, heavy imports inside them."""
import functools
from typing import Annotated

import typer

from dae_edge.app.export import export_command
from dae_edge.app.bench import bench_command
from dae_edge.app.run import run_command, verify_command
from dae_edge.app.demo import demo_command
from dae_edge.app.noise_estimate import noise_estimate_command
from dae_edge.app.train import train_command

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Denoising autoencoders on edge devices: train, export, run, verify, demo, bench, noise-estimate.")
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"dae-edge {version('dae-edge')}")
        raise typer.Exit()


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option(help="Show the full traceback on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    _state["debug"] = debug
    if debug:
        import os

        from dae_edge.core.quiet import DEBUG_ENV

        os.environ[DEBUG_ENV] = "1"


def _one_line_errors(command, native_logs: bool = True):
    """Known errors become one line on stderr and exit code 1; --debug shows the traceback instead.
    Without `native_logs`, what native libraries write to stderr is hidden unless --debug is given."""

    @functools.wraps(command)
    def guarded(*args, **kwargs):
        from dae_edge.core.errors import DaeEdgeError
        from dae_edge.core.quiet import native_stderr_silenced

        try:
            if native_logs:
                return command(*args, **kwargs)
            with native_stderr_silenced():
                return command(*args, **kwargs)
        except DaeEdgeError as exc:
            if _state["debug"]:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None

    return guarded


app.command("train")(_one_line_errors(train_command, native_logs=False))  # TensorFlow's C++ logs
app.command("export")(_one_line_errors(export_command, native_logs=False))
app.command("run")(_one_line_errors(run_command))
app.command("verify")(_one_line_errors(verify_command))
app.command("demo")(_one_line_errors(demo_command))
app.command("bench")(_one_line_errors(bench_command, native_logs=False))  # it loads Keras for its baseline
app.command("noise-estimate")(_one_line_errors(noise_estimate_command))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
