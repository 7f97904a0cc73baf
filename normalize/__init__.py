"""Normalization: raw records into one schema that search filters can trust.

Pure functions only (no database, network or clock; ``now`` is passed in). The one file
read is the shipped PLZ table, via ``normalize.places.load_gazetteer()``.

Public API::

    from normalize import normalize_record, NormalizedOffer, NormalizeError
    offer = normalize_record(record, gazetteer=load_gazetteer(), now=now)

Modules: ``text`` (HTML, encodings, shortening), ``places`` (PLZ, gazetteer, WKT,
addresses, distances, Bundesländer), ``vocab`` (subject and format vocabularies),
``audience``, ``costs``, ``dates`` and ``record`` (the whole record).
"""

from normalize.places import Gazetteer, load_gazetteer
from normalize.record import NormalizedOffer, NormalizeError, normalize_record

__all__ = ["Gazetteer", "NormalizeError", "NormalizedOffer", "load_gazetteer", "normalize_record"]
