"""Dispatcher: ``python -m bench`` runs every benchmark, ``python -m bench NAME [ARGS…]`` one."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the benchmarks: ``bench/*.py`` modules that define ``main`` (others, such as
    data generators, are libraries the benchmarks use)."""
    return sorted(
        p.stem
        for p in BENCH_DIR.glob("*.py")
        if not p.stem.startswith("_") and entry_point(p.stem) is not None
    )


def entry_point(name: str) -> Callable[[Sequence[str]], int | None] | None:
    main = getattr(importlib.import_module(f"bench.{name}"), "main", None)
    return main if callable(main) else None


def run(argv: Sequence[str]) -> int:
    names = available()
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m bench [NAME [ARGS…]]\nbenchmarks: " + ", ".join(names))
        return 0
    if argv:
        name, rest = argv[0], list(argv[1:])
        if name not in names:
            print(f"error: unknown benchmark {name!r}; known: {', '.join(names)}", file=sys.stderr)
            return 2
        return _call(name, rest)
    worst = 0
    for name in names:
        print(f"## bench.{name}", flush=True)
        worst = max(worst, _call(name, []))
    return worst


def _call(name: str, argv: list[str]) -> int:
    main = entry_point(name)
    assert main is not None
    return main(argv) or 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
