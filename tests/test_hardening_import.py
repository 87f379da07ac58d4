"""An interrupted import leaves nothing or every track with its genre; a rerun completes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodtune.catalog.importers import classify_missing_genres, import_file
from moodtune.catalog.repository import Catalog
from moodtune.music.genre import GenreModel
from moodtune.service import Moodtune

DATA = Path(__file__).parent / "data" / "catalog"
GENRES = {"edm", "latin", "pop", "r&b", "rap", "rock"}


def _no_genre(cat: Catalog) -> list[str]:
    with cat.transaction() as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT id FROM tracks WHERE genre IS NULL OR TRIM(genre) = '' OR id NOT IN "
                "(SELECT track_id FROM track_genres)"
            )
        ]


def _interrupt(*_args, **_kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["predict_table", "put_genres"])
def test_an_import_interrupted_during_genres_leaves_nothing_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    with monkeypatch.context() as mp:
        if where == "predict_table":  # Ctrl-C while the classifier runs
            mp.setattr(GenreModel, "predict_table", _interrupt)
        else:  # Ctrl-C while the genres are written, after the tracks
            mp.setattr(Catalog, "put_genres", _interrupt)
        with pytest.raises(KeyboardInterrupt):
            svc.catalog_import(DATA / "kaggle_data.csv")
    cat = svc.catalog()
    assert cat.count() == 0  # the interrupted import wrote no genre-less tracks

    report = svc.catalog_import(DATA / "kaggle_data.csv")
    assert report.added == 6 and report.genres_predicted == 6
    assert cat.count() == 6 and _no_genre(cat) == []
    rows = [cat.get_track(str(i)) for i in cat.load_table().id]
    assert all(row is not None for row in rows)
    genres = {row["genre"] for row in rows if row is not None}
    assert genres <= GENRES


def test_tracks_left_without_a_genre_earlier_are_completed_by_the_next_import(
    tmp_path: Path,
) -> None:
    """A catalog from before the fix (tracks without genres) is completed by a rerun."""
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        import_file(cat, DATA / "kaggle_data.csv")  # no genre step, as an interrupted import
        assert len(_no_genre(cat)) == 6
        report = import_file(cat, DATA / "kaggle_data.csv", genres=True)
        assert (report.added, report.updated, report.genres_predicted) == (0, 6, 6)
        assert _no_genre(cat) == []
        assert classify_missing_genres(cat) == 0  # nothing left to do


def test_an_empty_catalog_needs_no_genres(tmp_path: Path) -> None:
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        assert classify_missing_genres(cat) == 0
