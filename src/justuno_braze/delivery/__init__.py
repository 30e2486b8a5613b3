"""Delivery package of justuno-braze (see docs/architecture.md)."""
