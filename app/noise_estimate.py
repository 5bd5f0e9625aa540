"""`dae-edge noise-estimate`."""
from pathlib import Path
from typing import Annotated

import typer


def noise_estimate_command(
    frames: Annotated[list[Path], typer.Argument(help="Frames of the sensor with flat areas: a grey card under uneven light, or flat frames of several brightnesses.", show_default=False)],
) -> None:
    """Fit the sensor's noise (shot noise plus read noise) from its frames; prints PEAK, SIGMA and the --noise spec."""
    from dae_edge.core.images import Invert, read_image
    from dae_edge.core.noise_estimate import estimate

    fit = estimate([read_image(path, Invert.no).pixels for path in frames])
    typer.echo(f"PEAK {fit.peak:.3g} photons for white, read noise SIGMA {fit.sigma:.3g} (0–1 scale), "
               f"fitted over {fit.groups} brightness levels ({fit.blocks} flat 8×8 blocks)")
    typer.echo(f"--noise {fit.spec()}          # this sensor at this setting")
    typer.echo(f"--noise {fit.blind_spec()}   # blind: half to twice each, for other exposures and gains")
