"""Field mappings: a file's own field names mapped to the data model's, and values every feature takes.

``--field TARGET=SOURCE`` renames the file's field SOURCE (matched case-insensitively) to the data model's TARGET;
``--set FIELD=VALUE`` gives every feature that value (``--set domain=air --set kind=zone`` for a file of air zones
only). A mapping is checked against the file it is applied to: a SOURCE the file lacks, a TARGET that is no field of
the data model, or a field both mapped and set is refused (``mapping-invalid``). A field of the file that a mapping
replaces is dropped (a warning says so). Mappings are saved by name in the plan store (``--mapping NAME``) as the
JSON document :meth:`FieldMapping.as_doc` gives.

>>> m = FieldMapping.parse(["sector_id=SECT_ID", "contingent=NATION"], ["domain=air"])
>>> m.as_doc()
{'fields': {'sector_id': 'SECT_ID', 'contingent': 'NATION'}, 'set': {'domain': 'air'}}
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Problem, UsageError
from ..schema import CANONICAL


@dataclass
class FieldMapping:
    #: the data model's field -> the file's field
    fields: dict[str, str] = field(default_factory=dict)
    #: the data model's field -> the value every feature takes
    values: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields or self.values)

    @staticmethod
    def parse(field_args=(), set_args=(), targets: tuple[str, ...] = CANONICAL) -> "FieldMapping":
        """From ``--field TARGET=SOURCE`` and ``--set FIELD=VALUE`` arguments (a usage error when malformed)."""
        m = FieldMapping()
        for flag, items, into in (("--field", field_args, m.fields), ("--set", set_args, m.values)):
            for item in items or ():
                key, sep, val = str(item).partition("=")
                key = key.strip().lower()
                if not sep or not key or (flag == "--field" and not val.strip()):
                    raise UsageError(f"{flag} {item!r}: write {flag} {'TARGET=SOURCE' if flag == '--field' else 'FIELD=VALUE'}"
                                     f" (e.g. {'--field sector_id=SECT_ID' if flag == '--field' else '--set domain=air'})",
                                     rule="mapping-invalid")
                if key not in targets:
                    raise UsageError(f"{flag} {item!r}: {key!r} is not a field of the data model ({', '.join(targets)})",
                                     rule="mapping-invalid")
                if key in into:
                    raise UsageError(f"{flag} names {key!r} twice", rule="mapping-invalid")
                into[key] = val.strip() if flag == "--field" else val
        both = sorted(set(m.fields) & set(m.values))
        if both:
            raise UsageError(f"{', '.join(both)} is both mapped (--field) and set (--set); choose one", rule="mapping-invalid")
        return m

    def merged(self, other: "FieldMapping") -> "FieldMapping":
        """This mapping with ``other``'s entries on top (a saved mapping, then the command line's)."""
        fields = {k: v for k, v in self.fields.items() if k not in other.values}
        values = {k: v for k, v in self.values.items() if k not in other.fields}
        return FieldMapping({**fields, **other.fields}, {**values, **other.values})

    def as_doc(self) -> dict:
        return {"fields": dict(self.fields), "set": dict(self.values)}

    @staticmethod
    def from_doc(doc) -> "FieldMapping":
        if not isinstance(doc, dict):
            return FieldMapping()
        fields = doc.get("fields") if isinstance(doc.get("fields"), dict) else {}
        values = doc.get("set") if isinstance(doc.get("set"), dict) else {}
        return FieldMapping({str(k): str(v) for k, v in fields.items()}, {str(k): str(v) for k, v in values.items()})

    def describe(self) -> str:
        parts = [f"{t} ← {s}" for t, s in self.fields.items()] + [f"{t} = {v!r}" for t, v in self.values.items()]
        return ", ".join(parts)


def apply_mapping(gdf, mapping: FieldMapping | None):
    """``(frame, problems, warnings)``: the read layer with the mapping applied (nothing else changed)."""
    if not mapping:
        return gdf, [], []
    problems: list[Problem] = []
    warnings: list[Problem] = []
    geom = gdf.geometry.name
    cols = [c for c in gdf.columns if c != geom]
    by_lower: dict[str, list] = {}
    for c in cols:
        by_lower.setdefault(str(c).strip().lower(), []).append(c)
    renames, drops = {}, []
    for target, source in mapping.fields.items():
        exact = [c for c in cols if str(c) == source]
        found = exact or by_lower.get(source.strip().lower(), [])
        if len(found) != 1:
            problems.append(Problem("mapping-invalid", (f"the file has no field {source!r} to map to {target!r}; its "
                                    f"fields are {', '.join(map(str, cols[:30])) or 'none'}") if not found else
                                    f"fields {', '.join(map(str, found))} all match {source!r}; name one exactly",
                                    field=target))
            continue
        renames[found[0]] = target
    if problems:
        return gdf, problems, warnings
    sources = set(renames)
    for target in list(mapping.fields) + list(mapping.values):
        for c in by_lower.get(target, []):
            if c not in sources:
                drops.append(c)
                warnings.append(_replaced(c, target, mapping))
    out = gdf.drop(columns=drops).rename(columns=renames)
    for target, value in mapping.values.items():
        out[target] = value
    return out, problems, warnings


def _replaced(column, target: str, mapping: FieldMapping) -> Problem:
    how = f"--field {target}={mapping.fields[target]}" if target in mapping.fields else f"--set {target}=…"
    return Problem("field-replaced", f"the file's own field {column!r} is replaced by the mapping ({how}) and ignored",
                   field=str(column))
