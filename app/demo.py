"""`dae-edge demo`."""
from pathlib import Path
from typing import Annotated

import typer


def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the noisy inputs, their denoised results and demo.png.")] = Path("demo"),
) -> None:
    """Denoise ten bundled noisy MNIST test digits (the unet model) and a noisy photo and page (the photo model); writes demo.png and demo_photo.png (noisy above, denoised below)."""
    from dae_edge.runtime.demo import demo

    typer.echo(demo(out))
