"""The assigned zones of a plan per layer, in the working CRS with a spatial index: built once per analysis and
shared by the measures over its pieces (:mod:`~ua_coverage.engine.candidates`,
:mod:`~ua_coverage.engine.persistence`)."""
from __future__ import annotations

import numpy as np
import shapely

from .geodesy import to_laea


class ZoneIndex:
    """``layer(name) -> (rows, geoms, tree)``: the plan rows of the layer's sectors that have a contingent, their
    working-CRS polygons and an STRtree of them (made on first use)."""

    def __init__(self, sectors):
        self.sectors = sectors
        self.layers = np.asarray(sectors["layer"], dtype=object)
        self.contingents = [tuple(c) for c in sectors["contingents"]]
        self._by_layer: dict = {}

    def layer(self, name: str):
        if name not in self._by_layer:
            assigned = np.array([bool(c) for c in self.contingents], dtype=bool)
            rows = np.flatnonzero((self.layers == name) & assigned)
            geoms = to_laea(self.sectors.geometry.values[rows]) if len(rows) else np.zeros(0, dtype=object)
            self._by_layer[name] = (rows, geoms, shapely.STRtree(geoms))
        return self._by_layer[name]
