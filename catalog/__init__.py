"""What a catalogue entry is and where it lives.

- :mod:`catalog.db`: engine per ``DATABASE_URL`` (SQLite WAL by default), sessions,
  ``init_db``.
- :mod:`catalog.schema`: SQLModel tables ``SourceRow``, ``CrawlRun``, ``RawRecordRow``,
  ``OfferRow``, ``ClusterRow``.
- :mod:`catalog.store`: raw-record upserts, crawl runs, replacing the derived tables.
- :mod:`catalog.search`: the German full-text index with facets (tantivy), rebuilt
  atomically from the clusters.

Modules are imported explicitly (``from catalog.search import SearchIndex``) so that the
crawler processes do not load the search engine.
"""
