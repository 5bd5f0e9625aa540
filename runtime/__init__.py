"""The edge runtime: denoise images with an exported model, without TensorFlow."""
