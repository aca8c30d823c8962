"""Where the bundled ``geodata/`` and ``assets/`` live.

In an installed wheel they are inside the package (hatchling force-includes them as
``coverage/_geodata`` and ``coverage/_assets``); in a source checkout they sit beside the package.
Nothing here looks at the current directory.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def _locate(packaged: str, checkout: str) -> Path:
    for candidate in (_PKG / packaged, _PKG.parent / checkout):
        if candidate.is_dir():
            return candidate
    from .errors import DataError

    raise DataError(f"the bundled {checkout}/ folder is missing (looked in {_PKG / packaged} and "
                    f"{_PKG.parent / checkout}); reinstall the package with `pip install .`")


def geodata_dir() -> Path:
    """The folder holding the committed base layers and the sample plan."""
    return _locate("_geodata", "geodata")


def assets_dir() -> Path:
    """The folder holding the dashboard's static assets."""
    return _locate("_assets", "assets")
