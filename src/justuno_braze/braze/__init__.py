"""Braze package of justuno-braze (see docs/architecture.md)."""
