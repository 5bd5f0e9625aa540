"""dae-edge bench: quality and speed of every format beside classical filters (above the runtime; Keras where installed)."""
