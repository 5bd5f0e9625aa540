"""The models that ship with the package, by name (a light module: `dae-edge --help` names them)."""

SHIPPED = {"paper": "", "unet": "unet", "blind": "blind", "pictures": "pictures"}  # model names → folders under models/
# unet: 21.14 dB against the paper's 20.40 on the 10,000 test digits, and at batch 1 on this 2-core
# machine (default threads) 1.45× the paper's latency with int8 TFLite, 1.81× with fp32 ONNX (bench).
DEFAULT_MODEL = "unet"
