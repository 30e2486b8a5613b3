"""Names of a package imported from their modules when first used (PEP 562).

A package's ``__init__`` re-exports names from its modules; importing them all up front
makes every command pay for every module (``import`` uses a few repositories and services
of many). ``lazy_names(__name__, homes)`` returns the package's ``__getattr__``: the
first use of a name imports its module and keeps the value in the package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """``homes``: each name → the module of ``package`` that defines it."""

    def __getattr__(name: str) -> Any:
        module = homes.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
