"""`dae-edge export`: TFLite and ONNX artifacts, validated against the Keras model."""
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from dae_edge.export.options import ExportOptions

DEFAULT = ExportOptions()


def export_command(
    model: Annotated[Path, typer.Option(help="The trained Keras model.")] = Path("models/dae.keras"),
    out: Annotated[Path, typer.Option(help="Folder for the artifacts and manifest.json.")] = Path("models"),
    int8: Annotated[bool, typer.Option("--int8", help="Also write full-integer int8 TFLite and int8 ONNX.")] = False,
    fp16: Annotated[bool, typer.Option("--fp16", help="Also write float16-weight TFLite (dae_fp16.tflite).")] = False,
    data: Annotated[Optional[Path], typer.Option(help="The training data, where it has moved since training (default: what the model's contract.json names).")] = None,
    val_data: Annotated[Optional[Path], typer.Option(help="The validation pictures, where they have moved (trained with --val-data).")] = None,
    calibration_images: Annotated[int, typer.Option(help="Noisy training images (or patches) used to calibrate int8.")] = DEFAULT.calibration_images,
    validation_images: Annotated[int, typer.Option(help="Noisy validation images (or patches) each artifact is checked on.")] = DEFAULT.validation_images,
    seed: Annotated[int, typer.Option(help="Seed for picking calibration and validation images.")] = DEFAULT.seed,
    leave_out: Annotated[Optional[list[str]], typer.Option(help="An artifact not to make, such as dae_int8.tflite where it cannot pass its check (repeatable); the manifest lists it.")] = None,
) -> None:
    """Export dae.tflite and dae.onnx (with --int8 also dae_int8.tflite, dae_int8.onnx; with --fp16 dae_fp16.tflite),
    golden.npz and manifest.json."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    from dae_edge.core.errors import require_training_stack

    require_training_stack("export")
    from dae_edge.export.exporter import export
    from dae_edge.core.files import output_folder

    options = ExportOptions(int8, fp16, calibration_images, validation_images, seed, tuple(leave_out or ()))
    with output_folder(out):
        manifest = export(model, out, options, log=typer.echo, data=data, val_data=val_data)
    typer.echo(f"\n{'file':18}{'bytes':>9}  {'precision':9}{'max |Δ|':>10}{'mean |Δ|':>10}{'PSNR dB':>9}  (vs Keras on "
               f"{manifest['validation']['images']} noisy {manifest['validation']['from']}, Keras {manifest['artifacts'][0]['validation']['psnr_reference']:.2f} dB)")
    for a in manifest["artifacts"]:
        v = a["validation"]
        typer.echo(f"{a['file']:18}{a['bytes']:>9}  {a['precision']:9}{v['max_abs']:>10.2g}{v['mean_abs']:>10.2g}{v['psnr']:>9.2f}")
    typer.echo(f"wrote {len(manifest['artifacts'])} artifacts, golden.npz and manifest.json to {out}/")
