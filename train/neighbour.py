"""Neighbor2Neighbor (Huang et al., CVPR 2021): learning to denoise from single noisy pictures, no clean targets.

Every 2×2 cell of a noisy patch y gives two neighbouring pixels, picked at random; all first picks form a
half-size image g1(y) and all second picks g2(y). Where the noise is independent from pixel to pixel and has
zero mean, g2(y) is a noisy target for g1(y) whose noise the network cannot predict, so minimising
‖f(g1(y)) − g2(y)‖² learns the clean picture (the two sub-images differ slightly in content, by one pixel).
The regulariser pulls that gap towards the one the network itself sees at full size:
    + γ ‖f(g1(y)) − g2(y) − (g1(f(y)) − g2(f(y)))‖²,  f(y) without gradient,
with γ ramped from 0 to its final value over the run, as the paper does.
"""
import numpy as np

# The 2×2 cell's pixels, row by row (0 1 / 2 3), and each one's horizontal and vertical neighbour.
NEIGHBOURS = np.array([[1, 2], [0, 3], [0, 3], [1, 2]])


def cell_pairs(count: int, side: int, seed: list[int] | int) -> np.ndarray:
    """(count, side, side, 2) int32: per cell of a patch of 2·side pixels, a random pixel and a random neighbour."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 4, (count, side, side))
    second = NEIGHBOURS[first, rng.integers(0, 2, first.shape)]
    return np.stack([first, second], axis=-1).astype(np.int32)


def gamma_at(config, epoch: int) -> float:
    """The regulariser's weight in `epoch` (0-based): linear from 0 to config.n2n_gamma at the last epoch."""
    return config.n2n_gamma * epoch / max(config.epochs - 1, 1)


def _cells(images):
    """(N, H, W, C) → (N, H/2, W/2, 4, C): each 2×2 cell's pixels in the order of NEIGHBOURS."""
    from keras import ops

    n, h, w, c = ops.shape(images)
    cells = ops.reshape(images, (n, h // 2, 2, w // 2, 2, c))
    return ops.reshape(ops.transpose(cells, (0, 1, 3, 2, 4, 5)), (n, h // 2, w // 2, 4, c))


def subsample(images, picks):
    """The half-size image of the pixels `picks` (N, H/2, W/2) names in each cell."""
    from keras import ops

    return ops.sum(_cells(images) * ops.one_hot(picks, 4)[..., None], axis=3)


def neighbour_loss(denoised_first, second, full_gap, gamma):
    """The paper's loss: the reconstruction term plus γ times the regulariser."""
    from keras import ops

    gap = denoised_first - second
    return ops.mean(gap**2) + gamma * ops.mean((gap - full_gap) ** 2)


def trainer(model):
    """A Keras model around `model` whose fit() trains it by Neighbor2Neighbor on (noisy patches, cell_pairs), with
    `model`'s own optimizer (so model.save keeps its state for --resume). Validation data are (noisy patches,
    cell_pairs), scored by the reconstruction term, or (noisy, clean) images, scored by squared error."""
    import keras
    import tensorflow as tf

    class NeighbourTrainer(keras.Model):
        def __init__(self, denoiser):
            super().__init__()
            self.denoiser = denoiser
            self.gamma = tf.Variable(0.0, trainable=False, name="n2n_gamma")
            # fit() reports a metric named "loss" from the trackers, not from what a step returns: ours, then
            self.loss_tracker = keras.metrics.Mean(name="loss")

        @property
        def metrics(self):
            return [self.loss_tracker]

        def call(self, images, training=False):
            return self.denoiser(images, training=training)

        def train_step(self, data):
            noisy, picks = data
            full = tf.stop_gradient(self.denoiser(noisy, training=False))
            first, second = subsample(noisy, picks[..., 0]), subsample(noisy, picks[..., 1])
            full_gap = subsample(full, picks[..., 0]) - subsample(full, picks[..., 1])
            variables = self.denoiser.trainable_variables
            with tf.GradientTape() as tape:
                loss = neighbour_loss(self.denoiser(first, training=True), second, full_gap, self.gamma)
            self.optimizer.apply(tape.gradient(loss, variables), variables)
            self.loss_tracker.update_state(loss)
            return {"loss": self.loss_tracker.result()}

        def test_step(self, data):
            images, target = data
            if target.dtype.is_integer:  # cell pairs: no clean image, the reconstruction term
                first, second = subsample(images, target[..., 0]), subsample(images, target[..., 1])
                self.loss_tracker.update_state(tf.reduce_mean((self.denoiser(first) - second) ** 2))
            else:
                self.loss_tracker.update_state(tf.reduce_mean((self.denoiser(images) - target) ** 2))
            return {"loss": self.loss_tracker.result()}

    wrapped = NeighbourTrainer(model)
    wrapped.compile(optimizer=model.optimizer)
    return wrapped
