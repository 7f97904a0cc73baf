"""Registry of spider classes: one per *kind* of source.

``SPIDER_MODULES`` maps a kind to ``"module:Class"``; modules are imported lazily so a
broken or missing kind does not stop the others. ``spider_class(kind)`` raises
``KeyError`` for an unknown kind and ``ImportError`` when the module or class is missing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawlers.spiders.base import SourceSpider

SPIDER_MODULES: dict[str, str] = {
    "html": "crawlers.spiders.html:HtmlSpider",
    "rdf": "crawlers.spiders.rdf:RdfSpider",
    "csv": "crawlers.spiders.csv:CsvSpider",
    "json": "crawlers.spiders.json_api:JsonSpider",
    "ical": "crawlers.spiders.ical:IcalSpider",
    "jsonld": "crawlers.spiders.jsonld:JsonldSpider",
    "feed": "crawlers.spiders.feed:FeedSpider",
}


def spider_class(kind: str) -> type[SourceSpider]:
    """Return the spider class for ``kind`` (``KeyError`` if no kind of that name)."""
    target = SPIDER_MODULES[kind]
    module_name, _, class_name = target.partition(":")
    module = import_module(module_name)
    try:
        return getattr(module, class_name)
    except AttributeError as exc:
        raise ImportError(f"{module_name} defines no {class_name} (kind {kind!r})") from exc
