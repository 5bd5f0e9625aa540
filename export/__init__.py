"""Export: verified TFLite (fp32, int8) and ONNX (fp32, int8) artifacts with a manifest."""
