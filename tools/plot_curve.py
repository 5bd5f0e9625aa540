"""The README's noise curve: PSNR over noise factors from `dae-edge bench --json` results.

    python tools/plot_curve.py models/bench.json models/unet/bench.json blind.json --out models/noise_curve.png
"""
import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="bench --json files, one per model")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    median = None
    for path in args.results:
        result = json.loads(path.read_text())
        model, curve = result["model"], result["curve"]
        factors = [float(f) for f in curve["model"]]
        ax.plot(factors, list(curve["model"].values()), "o-", label=f"{model['arch']}, trained on {model['noise']}")
        median = curve["median3"]
    ax.plot(factors, list(median.values()), "s--", color="grey", label="3×3 median filter")
    ax.set_xlabel("noise factor (x + factor·N(0, 1), clipped)")
    ax.set_ylabel("mean PSNR on 10,000 test digits (dB)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)


if __name__ == "__main__":
    main()
