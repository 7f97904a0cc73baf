"""`rebuild` re-clusters only what changed: a re-crawl of one source touches its offers and
whatever they reach, every other entry is kept as it was, and the result is the same
catalogue a full re-clustering gives."""

from __future__ import annotations

from pathlib import Path

from conftest import NOW, copy_catalogue
from sqlalchemy import delete, update

from catalog import store
from catalog.db import dispose_engines, get_engine, init_db, session_scope
from catalog.schema import RawRecordRow
from webapp.cli import _now
from webapp.pipeline import rebuild

SOURCE = "leipzig_angebote_2016"


def _rebuild(settings, **kwargs):
    return rebuild(
        settings.database_url,
        settings.index_dir,
        now=_now(NOW),
        overrides_file=settings.overrides_file,
        **kwargs,
    )


def _catalogue(settings) -> list[tuple[str, tuple[tuple[str, str], ...], str]]:
    engine = get_engine(settings.database_url)
    init_db(engine)
    with session_scope(engine) as session:
        clusters = store.published_clusters(session)
    return [
        (cid, tuple(members), repr(sorted(fields.items()))) for cid, members, fields in clusters
    ]


def _touch_one_source(settings) -> None:
    """What a re-crawl of one source does: one record's title changes, one record is gone."""
    engine = get_engine(settings.database_url)
    with session_scope(engine) as session:
        rows = list(
            session.exec(
                RawRecordRow.__table__.select()  # type: ignore[attr-defined]
                .where(RawRecordRow.source_id == SOURCE)
                .order_by(RawRecordRow.source_key)
            )
        )
        first, second = rows[0], rows[1]
        fields = dict(first.fields)
        fields["title"] = "Experimentierwerkstatt Wasser – Ferienkurs"
        session.exec(update(RawRecordRow).where(RawRecordRow.id == first.id).values(fields=fields))
        session.exec(delete(RawRecordRow).where(RawRecordRow.id == second.id))
        session.commit()


def test_unchanged_rebuild_keeps_every_entry(demo_settings, tmp_path: Path) -> None:
    settings = copy_catalogue(demo_settings, tmp_path / "same")
    before = _catalogue(settings)
    report = _rebuild(settings)
    assert report.mode == "incremental", report.full_reason
    assert report.dedupe["records_reclustered"] == 0
    assert report.dedupe["pairs_scored"] == 0
    assert report.dedupe["clusters_kept"] == report.clusters == len(before)
    assert _catalogue(settings) == before
    dispose_engines()


def test_recrawl_of_one_source_reclusters_only_what_it_touched(
    demo_settings, tmp_path: Path
) -> None:
    incremental = copy_catalogue(demo_settings, tmp_path / "incremental")
    _touch_one_source(incremental)
    full = copy_catalogue(incremental, tmp_path / "full")

    report = _rebuild(incremental)
    assert report.mode == "incremental", report.full_reason
    reclustered = report.dedupe["records_reclustered"]
    assert 1 <= reclustered < report.offers // 20, reclustered
    assert report.dedupe["clusters_kept"] > report.clusters * 9 // 10

    full_report = _rebuild(full, full=True)
    assert full_report.mode == "full"
    assert full_report.full_reason == "--full verlangt"
    assert full_report.dedupe["records_reclustered"] == full_report.offers
    got, want = _catalogue(incremental), _catalogue(full)
    first_difference = next(
        (pair for pair in zip(got, want, strict=False) if pair[0] != pair[1]), None
    )
    assert len(got) == len(want) and first_difference is None, first_difference
    assert SOURCE in {sid for _, members, _ in got for sid, _ in members}
    dispose_engines()


def test_changed_overrides_recluster_everything(demo_settings, tmp_path: Path) -> None:
    settings = copy_catalogue(demo_settings, tmp_path / "rules")
    overrides = tmp_path / "dedupe_overrides.yaml"
    overrides.write_text(
        Path(settings.overrides_file).read_text(encoding="utf-8") + "\n# geändert\n",
        encoding="utf-8",
    )
    report = rebuild(
        settings.database_url, settings.index_dir, now=_now(NOW), overrides_file=overrides
    )
    assert report.mode == "full"
    assert report.full_reason == "Regeln oder Overrides geändert"
    again = rebuild(
        settings.database_url, settings.index_dir, now=_now(NOW), overrides_file=overrides
    )
    assert again.mode == "incremental"
    dispose_engines()


def test_offers_borrowing_a_renamed_provider_are_reclustered(demo_settings, tmp_path: Path) -> None:
    """Angebote-2016 records name no provider; they borrow the name of the MINT-Orte record
    with the same ``provider_ref``. Renaming it there changes what dedupe compares for
    them, so they count as changed although their own records did not change."""
    incremental = copy_catalogue(demo_settings, tmp_path / "incremental")
    ref = "http://leipzig-data.de/Data/Ort/IHK"
    engine = get_engine(incremental.database_url)
    with session_scope(engine) as session:
        rows = [
            row
            for row in session.exec(
                RawRecordRow.__table__.select().where(  # type: ignore[attr-defined]
                    RawRecordRow.source_id.in_(["leipzig_mint_orte", SOURCE])  # type: ignore[attr-defined]
                )
            )
            if row.fields.get("provider_ref") == ref
        ]
        named = [row for row in rows if row.source_id == "leipzig_mint_orte"]
        borrowing = [row for row in rows if row.source_id == SOURCE]
        assert len(named) == 1 and len(borrowing) == 2
        fields = {**named[0].fields, "provider": "IHK Leipzig Bildungszentrum"}
        session.exec(
            update(RawRecordRow).where(RawRecordRow.id == named[0].id).values(fields=fields)
        )
        session.commit()
    full = copy_catalogue(incremental, tmp_path / "full")

    report = _rebuild(incremental)
    assert report.mode == "incremental", report.full_reason
    assert report.dedupe["records_reclustered"] >= 3  # the renamed record and both borrowers
    _rebuild(full, full=True)
    assert _catalogue(incremental) == _catalogue(full)
    dispose_engines()
