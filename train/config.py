"""The training configuration: one frozen dataclass, saved beside every model."""
import hashlib
import json
from dataclasses import asdict, dataclass, fields

from dae_edge.core.noise import NONE, Noise, NoiseMix

# each architecture train/model.py builds, and how much it pools
ARCH_DOWNSAMPLING = {"paper": 4, "unet": 4, "photo": 8, "photo_fullres": 8, "photo_fullres_wide": 8}
ARCHS = tuple(ARCH_DOWNSAMPLING)
LOSSES = ("bce", "mse", "psnr")  # psnr: the log of each patch's squared error (train/model.py)
LATER = {"init": None, "init_sha256": None, "augment": False}  # fields added since: left out at these values, so
# configurations written before them hash the same


@dataclass(frozen=True)
class TrainConfig:
    # Model (the reference design).
    arch: str = "paper"  # the paper's DAE; "unet" is the stronger one (train/model.py)
    filters: int = 32  # 32 filters per layer give the reference's 37,601 parameters
    leaky_slope: float = 0.2  # the reference's LeakyReLU slope; Keras 3 defaults to 0.3
    loss: str = "bce"  # the reference's binary cross-entropy; "mse" for the photo model's residual output
    # Data and noise.
    noise: str = "gaussian:0.5"  # x + 0.5·N(0, 1), clipped: the reference corruption
    fresh_noise: bool = False  # the reference draws its training noise once; fresh draws each epoch augment
    mosaic: int = 1  # train on side × side mosaics of digits; 1 (the reference) trains on single digits
    limit: int | None = None  # first N training images; None trains on all 60,000
    grey_share: float = 0.0  # colour models: this share of the patches turned grey (equal channels, equal noise)
    augment: bool = False  # each training patch flipped or turned by a seeded one of the square's eight symmetries
    self_supervised: bool = False  # learn from the noisy pictures alone (Neighbor2Neighbor); noise is then "none"
    bursts: bool = False  # self-supervised from bursts: Noise2Noise pairs of shots of one scene, no regulariser
    n2n_gamma: float = 2.0  # Neighbor2Neighbor's regulariser weight, reached at the last epoch (the paper's 2)
    val_noise: str | None = None  # noise added to the validation pictures when it is not `noise` (clean ones, self-supervised)
    # Optimisation.
    epochs: int = 25  # the reference schedule; validation loss has flattened by then
    batch_size: int = 64  # the reference batch size
    learning_rate: float = 1e-3  # Adam's default, as in the reference
    lr_schedule: str = "constant"  # the reference's; "cosine" decays over the last 40% of the epochs
    init: str | None = None  # fine-tuning: the trained dae.keras whose weights the run starts from
    init_sha256: str | None = None  # that file's checksum, so the same command is known to start from the same weights
    # Reproducibility.
    seed: int = 0  # weights, shuffling and training noise all derive from it
    val_noise_seed: int = 1234  # fixed noise on the validation set, so metrics compare across runs

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {self.batch_size}")
        Noise.parse(self.noise)  # raises ValueError with the accepted forms
        if self.arch not in ARCHS:
            raise ValueError(f"--arch {self.arch!r}: expected one of {', '.join(ARCHS)}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"--lr-schedule {self.lr_schedule!r}: expected constant or cosine")
        if not self.learning_rate > 0:
            raise ValueError(f"learning rate must be > 0, got {self.learning_rate}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.mosaic < 1:
            raise ValueError(f"mosaic must be >= 1, got {self.mosaic}")
        if self.loss not in LOSSES:
            raise ValueError(f"--loss {self.loss!r}: expected one of {', '.join(LOSSES)}")
        if not 0 <= self.grey_share <= 1:
            raise ValueError(f"--grey-share must be between 0 and 1, got {self.grey_share}")
        if self.filters < 1:
            raise ValueError(f"filters must be >= 1, got {self.filters}")
        if self.self_supervised != (self.noise == NONE):
            raise ValueError("self-supervised training adds no noise (the pictures are noisy already), and supervised "
                             "training needs some: --noise none is for --self-supervised only")
        if self.self_supervised and self.grey_share:
            raise ValueError("--grey-share with --self-supervised: a noisy colour picture turned grey has less noise than a "
                             "grey camera's (measured: 3 dB lost on grey pictures); put grey pictures into --data instead")
        if self.self_supervised and self.loss != "mse":
            raise ValueError("--self-supervised learns with Neighbor2Neighbor's squared error; use --loss mse")
        if self.bursts and not self.self_supervised:
            raise ValueError("--bursts trains from noisy shots alone: it is self-supervised (Noise2Noise)")
        if self.val_noise is not None:
            if Noise.parse(self.val_noise).kind == NONE:
                raise ValueError("--val-noise none: name the noise to add to the clean validation pictures")
        if not self.n2n_gamma >= 0:
            raise ValueError(f"--n2n-gamma must be >= 0, got {self.n2n_gamma}")

    def to_dict(self) -> dict:
        """The fields, less those added since at their unused values (so configurations written before them hash the same)."""
        return {k: v for k, v in asdict(self).items() if not (k in LATER and v == LATER[k])}

    @property
    def noise_model(self) -> Noise | NoiseMix:
        return Noise.parse(self.noise)

    @property
    def validation_noise(self) -> str:
        """What the validation pictures get: `val_noise` where given, else the training noise."""
        return self.val_noise or self.noise

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        if "noise_factor" in values and "noise" not in values:  # written before --noise existed
            values = {**values, "noise": f"gaussian:{values['noise_factor']:g}"}
        return cls(**{k: v for k, v in values.items() if k in known})

    def sha256(self) -> str:
        """A stable hash of the configuration, carried into exported artifacts."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()
