"""The numpy-only floor: errors, images, files, noise, metrics, grids and the data sources (no runtime library)."""
