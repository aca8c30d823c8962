"""Reading an extents file: the plan's own areas of responsibility, one or more polygons per layer."""
from __future__ import annotations

from pathlib import Path

import shapely

from ..domains import Extents
from ..errors import IngestError, Problem
from ..schema import LAYERS, PLAN_AREA, outside_plan_area


def read_extents(path, label: str | None = None, *, limits=None) -> Extents:
    """Read an extents file: polygons with a ``domain`` field naming a layer.

    Several features of one layer are dissolved. Raises :class:`~ua_coverage.errors.IngestError`
    naming the feature and rule when the file is unusable. ``path`` is a file path or the uploaded
    bytes; ``limits`` (upload limits) also parses it in the isolated worker.
    """
    from . import read_layer

    gdf = read_layer(path, limits=limits, isolate=limits is not None)
    if isinstance(path, (bytes, bytearray, memoryview)):
        path = label or "the uploaded extents file"
    cols = {c.lower(): c for c in gdf.columns}
    if "domain" not in cols:
        raise IngestError(f"extents file {path} has no 'domain' field; give each polygon a domain of "
                          f"{', '.join(LAYERS)}", rule="field-missing",
                          problems=[Problem("field-missing", "the 'domain' field is missing", field="domain")])
    problems = []
    parts: dict[str, list] = {}
    for i, (dom, geom) in enumerate(zip(gdf[cols["domain"]], gdf.geometry)):
        d = str(dom).strip().lower()
        if d not in LAYERS:
            problems.append(Problem("domain-invalid", f"domain {dom!r} is not one of {', '.join(LAYERS)}",
                                    feature=i, field="domain"))
            continue
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(Problem("geometry-type", "extents must be non-empty polygons", feature=i))
            continue
        if not geom.is_valid:
            problems.append(Problem("invalid-geometry", f"extent polygon is invalid: "
                                    f"{shapely.is_valid_reason(geom)}", feature=i))
            continue
        if (why := outside_plan_area(geom)) is not None:
            problems.append(Problem("outside-plan-area", f"the {d} extent polygon is not within the plan area "
                                    f"(lon {PLAN_AREA[0]}–{PLAN_AREA[2]}, lat {PLAN_AREA[1]}–{PLAN_AREA[3]}): {why}",
                                    feature=i, field="geometry"))
            continue
        parts.setdefault(d, []).append(geom)
    if problems:
        raise IngestError(f"extents file {path} has {len(problems)} problem(s)", rule="extents-invalid",
                          problems=problems)
    name = label or Path(str(path)).name
    return Extents({d: shapely.union_all(g) for d, g in parts.items()},
                   {d: f"{name}" for d in parts})
