"""A context margin: mirrored pixels on every side of an image run whole, in one pass or in blocks alike."""
import numpy as np
import pytest

from dae_edge.core.errors import DaeEdgeError
from dae_edge.runtime.denoiser import Denoiser, Geometry, geometry
from dae_edge.runtime.manifest import ManifestError, validate

RADIUS, MULTIPLE, MARGIN = 5, 4, 8


class BoxBackend:
    """A fully convolutional stand-in: the mean over a (2·RADIUS+1)² window, zeros past the edges (as a 'same'
    convolution pads), so that what lies past an image's edges shows in its output."""

    name, input_shape, max_batch = "box", (None, None, 1), None

    def run(self, batch: np.ndarray) -> np.ndarray:
        n, h, w, c = batch.shape
        padded = np.pad(batch, ((0, 0), (RADIUS, RADIUS), (RADIUS, RADIUS), (0, 0)))
        total = np.zeros_like(batch, dtype=np.float64)
        for dy in range(2 * RADIUS + 1):
            for dx in range(2 * RADIUS + 1):
                total += padded[:, dy : dy + h, dx : dx + w]
        return (total / (2 * RADIUS + 1) ** 2).astype(np.float32)


def one_pass_by_hand(image: np.ndarray) -> np.ndarray:
    """np.pad's reflect: MARGIN on every side, and the bottom and right up to a multiple, then one call, cropped."""
    h, w = image.shape
    bottom, right = -h % MULTIPLE, -w % MULTIPLE
    padded = np.pad(image, ((MARGIN, MARGIN + bottom), (MARGIN, MARGIN + right)), mode="reflect")
    return BoxBackend().run(padded[None, ..., None])[0, MARGIN : MARGIN + h, MARGIN : MARGIN + w, 0]


@pytest.mark.parametrize("shape", [(75, 101), (13, 300), (9, 9), (120, 90)])
def test_a_margin_is_mirrored_context_in_one_pass_and_in_blocks(tmp_path, shape, monkeypatch):
    from dae_edge.runtime import blocks, denoiser as module

    image = np.random.default_rng(sum(shape)).random(shape).astype(np.float32)
    expected = one_pass_by_hand(image)
    geometry_ = Geometry(tile=None, multiple=MULTIPLE, radius=RADIUS, margin=MARGIN)
    for budget in (1 << 20, 1200):  # one call; blocks of a few hundred pixels with their halos
        monkeypatch.setattr(module, "CALL_PIXELS", budget)
        calls = len(blocks.plan(*shape, MULTIPLE, RADIUS, budget, MARGIN))
        assert (calls > 1) == (budget == 1200 and shape != (9, 9))
        denoised = Denoiser(BoxBackend(), tmp_path / "box.onnx", None, geometry_).denoise_list([image])[0]
        np.testing.assert_allclose(denoised, expected, atol=1e-6, err_msg=f"budget {budget}")
    without = Denoiser(BoxBackend(), tmp_path / "box.onnx", None, Geometry(tile=None, multiple=MULTIPLE, radius=RADIUS))
    assert np.abs(without.denoise_list([image])[0] - expected).max() > 1e-3  # the margin changes the edges


def test_a_margin_comes_from_the_manifest_or_the_models_metadata():
    backend = BoxBackend()
    backend.metadata = {"multiple_of": "4", "receptive_radius": "5", "margin": "8"}
    assert geometry(backend, None).margin == 8
    assert geometry(backend, {"input": {"multiple_of": 4, "margin": 16}}).margin == 16
    assert geometry(BoxBackend(), {"input": {"multiple_of": 4}}).margin == 0  # manifests before it: none
    with pytest.raises(DaeEdgeError, match="margin 6 is not a multiple of its downsampling 4"):
        geometry(backend, {"input": {"multiple_of": 4, "margin": 6}})


def test_a_manifest_with_a_negative_margin_is_refused(tmp_path):
    artifact = {"file": "dae.onnx", "sha256": "0" * 64, "precision": "fp32"}
    validate({"format_version": 3, "artifacts": [artifact], "input": {"margin": 8}}, tmp_path / "manifest.json")
    with pytest.raises(ManifestError, match="input.margin must be a whole number"):
        validate({"format_version": 3, "artifacts": [artifact], "input": {"margin": -8}}, tmp_path / "manifest.json")
