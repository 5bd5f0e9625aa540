"""The models that ship with the package, by name (a light module: `dae-edge --help` names them)."""

SHIPPED = {"photo": "photo", "paper": "", "unet": "unet", "blind": "blind", "pictures": "pictures"}  # names → folders under models/
# photo: real photographs, grey and colour, blind over σ 0–0.2 (models/photo/MODEL_CARD.md): what people run
# `dae-edge run` on. The MNIST models stay by name; unet is the digits' best (21.14 dB against the paper's 20.40).
DEFAULT_MODEL = "photo"
DIGITS_MODEL = "unet"  # what the demo shows on its digits
