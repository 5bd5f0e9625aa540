"""Training: the networks, the configuration, the contract and the training loop (Keras)."""
