"""Nations as staff write them: ISO 3166-1 alpha-3 or alpha-2 codes, or a short name in English, French, German
or Ukrainian — normalised to alpha-3.

The names come from ``pycountry`` (the Debian ``iso-codes`` data, with its gettext translations), never from a
hand-made list: each country's name, common name and official name in each of the four languages, and for a name
like "Moldova, Republic of" the part before the comma when only one country has it. Names compare without case,
accents, punctuation or extra spaces ("cote d'ivoire" = "Côte d'Ivoire"). A name two countries share is ambiguous
and never guessed.

>>> to_alpha3("FRA"), to_alpha3("fr"), to_alpha3("France"), to_alpha3("Allemagne"), to_alpha3("Vereinigtes Königreich")
('FRA', 'FRA', 'FRA', 'DEU', 'GBR')
>>> to_alpha3("Бельгія"), to_alpha3("Moldova"), to_alpha3("Atlantis")
('BEL', 'MDA', None)
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: the languages whose country names are understood
LANGUAGES = ("en", "fr", "de", "uk")


def _key(text: str) -> str:
    """A name as compared: case-folded, accents and punctuation dropped, spaces collapsed."""
    t = unicodedata.normalize("NFKD", str(text)).casefold()
    t = "".join(c for c in t if not unicodedata.combining(c))
    t = re.sub(r"[\W_]+", " ", t)
    return " ".join(t.split())


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(alpha-3 -> English name, alpha-2 -> alpha-3, name key -> alpha-3) from pycountry."""
    import gettext

    import pycountry

    names: dict[str, str] = {}
    alpha2: dict[str, str] = {}
    keys: dict[str, set[str]] = {}
    translations = {"en": None}
    for lang in LANGUAGES[1:]:
        try:
            translations[lang] = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:  # a pycountry without that catalogue: the other languages still work
            continue

    def add(text, code):
        k = _key(text)
        if k:
            keys.setdefault(k, set()).add(code)

    for c in pycountry.countries:
        names[c.alpha_3] = getattr(c, "common_name", None) or c.name
        alpha2[c.alpha_2] = c.alpha_3
        for attr in ("name", "common_name", "official_name"):
            text = getattr(c, attr, None)
            if not text:
                continue
            for tr in translations.values():
                local = tr.gettext(text) if tr is not None else text
                add(local, c.alpha_3)
                if ", " in local:  # "Moldova, Republic of" -> "Moldova" (kept only when one country has it)
                    add(local.split(", ")[0], c.alpha_3)
    unique = {k: next(iter(v)) for k, v in keys.items() if len(v) == 1}
    return names, alpha2, unique


def is_country(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-3 code of a country."""
    return str(code).upper() in _tables()[0]


def name_of(code: str) -> str:
    """The English short name of an alpha-3 code ("" for a code that is no country)."""
    return _tables()[0].get(str(code).upper(), "")


def to_alpha3(text) -> str | None:
    """The alpha-3 code a nation is written as (an alpha-3 or alpha-2 code, or a name), or None."""
    t = str(text or "").strip()
    if not t:
        return None
    names, alpha2, keys = _tables()
    up = t.upper()
    if len(up) == 3 and up.isascii() and up.isalpha() and up in names:
        return up
    if len(up) == 2 and up.isascii() and up.isalpha():
        return alpha2.get(up)
    return keys.get(_key(t))


def normalise_nations(value) -> tuple[str, dict[str, str], list[str]]:
    """One ``contingent`` value (``"France;Belgium"``, ``"FR, BE"``, ``"FRA;BEL"``) as alpha-3 codes.

    Returns ``(value with codes, {written: code} for each part written otherwise, [parts not understood])``.
    A part that is three letters and no country (``XYZ``) is left as written, for the usual rules to report.

    >>> normalise_nations("France;Belgium")
    ('FRA;BEL', {'France': 'FRA', 'Belgium': 'BEL'}, [])
    >>> normalise_nations("FRA;BEL")
    ('FRA;BEL', {}, [])
    """
    if value is None or (isinstance(value, float) and value != value):
        return "", {}, []
    parts = [p.strip() for p in re.split(r"[;,]", str(value)) if p.strip()]
    out, mapped, unknown = [], {}, []
    for p in parts:
        if re.fullmatch(r"[A-Za-z]{3}", p):
            out.append(p.upper())
            continue
        code = to_alpha3(p)
        if code is None:
            unknown.append(p)
            out.append(p)
            continue
        mapped[p] = code
        out.append(code)
    return ";".join(out), mapped, unknown


def country_codes() -> set[str]:
    """Every ISO 3166-1 alpha-3 code of a country."""
    return set(_tables()[0])
