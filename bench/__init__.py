"""Benchmarks (not tests): each ``bench/<name>.py`` module has a ``main(argv)`` entry point.

``python -m bench`` runs them all; ``python -m bench <name> [args…]`` runs one. Numbers go in
``docs/benchmarks.md`` together with the command that produced them.
"""
