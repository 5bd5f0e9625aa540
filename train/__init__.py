"""Training: the MNIST loader, the reference DAE and the `dae-edge train` command."""
