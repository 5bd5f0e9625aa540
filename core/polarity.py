"""Which background a model was trained on, and whether to invert images for it (no numpy: the CLI shows these)."""
from enum import Enum


class Invert(str, Enum):
    auto = "auto"  # bring the image to the model's polarity, and the result back to the image's
    yes = "yes"
    no = "no"


# A model's polarity, as its contract states it: the background it was trained on. "any": trained on a
# mix (photographs), so images are never inverted for it.
LIGHT_ON_DARK, DARK_ON_LIGHT, ANY_POLARITY = "light on dark", "dark on light", "any"
POLARITIES = (LIGHT_ON_DARK, DARK_ON_LIGHT, ANY_POLARITY)
