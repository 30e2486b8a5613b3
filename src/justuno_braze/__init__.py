"""justuno-braze: Justuno lead profiles into Braze, durably, plus a local Braze sandbox."""

__version__ = "0.1.0"
