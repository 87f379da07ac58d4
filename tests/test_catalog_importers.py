from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from moodtune.catalog.importers import ImportReport, import_file, most_frequent, read_tracks
from moodtune.catalog.repository import Catalog
from moodtune.errors import CatalogError, ImportFileError, ParameterError

DATA = Path(__file__).parent / "data" / "catalog"


@pytest.fixture
def catalog(tmp_path):
    with Catalog.open(tmp_path / "catalog.sqlite") as cat:
        yield cat


def _snapshot(cat: Catalog) -> list[tuple]:
    return cat._conn.execute("SELECT * FROM tracks ORDER BY id").fetchall()


# ---------------------------------------------------------------- Kaggle 160k data.csv
def test_kaggle_import_counts_and_bad_rows(catalog):
    report = import_file(catalog, DATA / "kaggle_data.csv")
    assert isinstance(report, ImportReport)
    assert report.fmt == "kaggle"
    assert (report.added, report.updated) == (6, 0)
    assert report.rows == 12
    lines = [line for line, _ in report.skipped]
    assert lines == [6, 7, 8, 11, 12, 13]
    reasons = dict(report.skipped)
    assert "valence=1.7" in reasons[6] and "range" in reasons[6]
    assert "energy='loud'" in reasons[7]
    assert "missing id" in reasons[8]
    assert "15 fields" in reasons[11]
    assert "line 2" in reasons[12]
    assert "artists" in reasons[13]
    assert catalog.count() == 6


def test_kaggle_values_and_artist_lists(catalog):
    import_file(catalog, DATA / "kaggle_data.csv")
    t = catalog.get_track("0NFeJgmTAV1kDfzSQNK41Z")
    assert t["artists"] == ["Sergei Rachmaninoff", "Ruth Laredo"]
    assert t["name"] == "10 Préludes, Op. 23: No. 5 in G Minor. Alla marcia"
    assert t["year"] == 1921 and t["key"] == 7 and t["mode"] == 0 and t["explicit"] == 0
    assert t["valence"] == pytest.approx(0.282)
    assert t["tempo"] == pytest.approx(107.698)
    assert t["url"] == "https://open.spotify.com/track/0NFeJgmTAV1kDfzSQNK41Z"
    assert t["source"] == "kaggle:kaggle_data.csv"
    assert catalog.get_track("7b4eHImKQ51DYaQvNTdtEp")["artists"] == ["Scarlet D'Carpio"]
    # plain-text artists (the 2000-2020 extract) and an empty release_date
    wu = catalog.get_track("00JErUuTZnBA8eugXCWGuB")
    assert wu["artists"] == ["Wu-Tang Clan"] and wu["year"] == 2000 and wu["release_date"] is None
    # a quoted name spanning two lines (lines 9-10) is one good track
    assert catalog.get_track("01UstUPbzPgq2MNp6h0tVo")["name"] == "The National\nAnthem"
    # line 13 (broken artists) was skipped but line 14 with the same id was good
    assert catalog.get_track("02COSjkOwyoMNW30Tge9Gu")["artists"] == ["Green Day"]
    # the duplicate on line 12 did not overwrite line 2
    assert catalog.get_track("02GDntOXexBFUvSgaXLPkd")["name"].startswith("Morceaux")


def test_kaggle_artists_never_evaluated(catalog, tmp_path):
    text = (DATA / "kaggle_data.csv").read_text(encoding="utf-8")
    evil = text.replace(
        "['Sergei Rachmaninoff'],", "\"__import__('os').system('touch pwned')\",", 1
    ).replace('"[\'Green Day"', "\"[__import__('os').getcwd()]\"")
    path = tmp_path / "evil.csv"
    path.write_text(evil, encoding="utf-8")
    report = import_file(catalog, path)
    assert not (tmp_path / "pwned").exists()
    # a non-list string is stored as one plain name, never run
    assert catalog.get_track("02GDntOXexBFUvSgaXLPkd")["artists"] == [
        "__import__('os').system('touch pwned')"
    ]
    assert any("artists" in reason for _, reason in report.skipped)


def test_gzip_file_is_read(catalog):
    report = import_file(catalog, DATA / "kaggle_good.csv.gz")
    assert report.fmt == "kaggle" and report.added == 4 and report.skipped == []


def test_reimport_updates_and_keeps_known_values(catalog):
    import_file(catalog, DATA / "tidytuesday_spotify_songs.csv")
    assert catalog.get_track("3eekarcy7kvN4yt5ZFzltW")["genre"] == "rap"
    report = import_file(catalog, DATA / "tidytuesday_tracks.csv")
    assert (report.added, report.updated) == (1, 2)
    t = catalog.get_track("3eekarcy7kvN4yt5ZFzltW")
    assert t["genre"] == "rap"  # the tracks-only file has no genre: the old one stays
    assert t["release_date"] == "2019" and t["year"] == 2019  # new values win


# ---------------------------------------------------------------- TidyTuesday
def test_tidytuesday_full_merges_playlist_rows(catalog):
    report = import_file(catalog, DATA / "tidytuesday_spotify_songs.csv")
    assert report.fmt == "tidytuesday"
    assert (report.added, report.updated) == (5, 0)
    assert [line for line, _ in report.skipped] == [9, 10, 11]
    assert "danceability=1.3" in report.skipped[0][1]
    assert "key='C#'" in report.skipped[1][1]
    assert "missing id" in report.skipped[2][1]
    assert set(report.ignored_columns) == {"track_album_id", "playlist_name", "playlist_id"}
    closer = catalog.get_track("7BKLCZ1jbUBVqRi2FVlTVw")
    assert closer["genre"] == "pop"  # pop 2, latin 1, rock 1
    assert closer["subgenre"] == "dance pop"  # dance pop 2 of 4
    assert closer["album"] == "Closer (feat. Halsey)" and closer["year"] == 2016
    assert closer["popularity"] == 85
    # bracketed and comma-holding artist names stay one name
    assert catalog.get_track("1Ibc5RR1a2AzgkfvSJnZsX")["artists"] == ["[ALEXANDROS]"]
    assert catalog.get_track("0qtK3XwbuG153dmwB8iepL")["artists"] == ["Tyler, The Creator"]


def test_tidytuesday_tracks_only_variant(catalog):
    report = import_file(catalog, DATA / "tidytuesday_tracks.csv")
    assert report.fmt == "tidytuesday"
    assert report.added == 3
    assert report.skipped == [(4, "loudness=20.5 is out of range [-80, 10]")]
    assert catalog.get_track("0017A6SJgTbfQVU2EtsPNo")["genre"] is None


# ---------------------------------------------------------------- generic
def test_generic_format(catalog):
    report = import_file(catalog, DATA / "generic.csv")
    assert report.fmt == "generic"
    assert report.added == 3
    assert [line for line, _ in report.skipped] == [4, 5, 7]
    # an import never points the server at a file: local_path is ignored (scan sets it)
    assert report.ignored_columns == ["local_path", "comment"]
    rain = catalog.get_track("local-rain")
    assert rain["artists"] == ["Alice", "Bob"]
    assert rain["local_path"] is None
    assert rain["url"] is None  # not a Spotify id
    assert rain["explicit"] == 0 and rain["genre"] == "ambient" and rain["year"] == 2020
    assert rain["acousticness"] is None
    travis = catalog.get_track("3eekarcy7kvN4yt5ZFzltW")
    assert travis["artists"] == ["Travis Scott"] and travis["explicit"] == 1
    assert travis["url"] == "https://open.spotify.com/track/3eekarcy7kvN4yt5ZFzltW"
    minimal = catalog.get_track("local-minimal")
    assert minimal["name"] == "" and minimal["artists"] == [] and minimal["valence"] is None


def test_explicit_format_overrides_detection(catalog):
    with pytest.raises(ImportFileError, match="kaggle format needs column"):
        import_file(catalog, DATA / "generic.csv", fmt="kaggle")
    report = import_file(catalog, DATA / "kaggle_data.csv", fmt="generic")
    assert report.fmt == "generic" and report.added == 6


def test_unknown_format_name(catalog):
    with pytest.raises(ParameterError, match="spotify"):
        import_file(catalog, DATA / "generic.csv", fmt="spotify")


# ---------------------------------------------------------------- bad files
BAD_FILES = {
    "bad_empty.csv": "is empty",
    "bad_blank_lines.csv": "is empty",
    "bad_header_only.csv": "no rows",
    "bad_not_utf8.csv": "not UTF-8 text .* line 42",
    "bad_nul.csv": "NUL",
    "bad_unknown_header.csv": "unknown header",
    "bad_generic_missing_artists.csv": "needs column.*artists",
    "bad_duplicate_header.csv": "repeats column",
    "bad_not_csv.json": "unknown header",
    "bad_binary.png": "not UTF-8",
    "bad_truncated.csv.gz": "damaged",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_changes_nothing(catalog, name):
    import_file(catalog, DATA / "generic.csv")
    before = _snapshot(catalog)
    with pytest.raises(ImportFileError, match=BAD_FILES[name]) as info:
        import_file(catalog, DATA / name)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2
    assert _snapshot(catalog) == before


def test_missing_file_and_directory(catalog, tmp_path):
    with pytest.raises(ImportFileError, match="does not exist"):
        import_file(catalog, tmp_path / "nope.csv")
    with pytest.raises(ImportFileError, match="is a directory"):
        import_file(catalog, tmp_path)


def test_write_failure_rolls_back_whole_file(catalog, tmp_path):
    import_file(catalog, DATA / "generic.csv")
    before = _snapshot(catalog)
    # make the 4th kaggle track fail inside SQLite, after 3 rows were written
    catalog._conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON tracks WHEN NEW.id = '00JErUuTZnBA8eugXCWGuB' "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    with pytest.raises(CatalogError, match="boom"):
        import_file(catalog, DATA / "kaggle_data.csv")
    assert _snapshot(catalog) == before


def test_read_tracks_writes_nothing(catalog):
    tracks, report = read_tracks(DATA / "kaggle_data.csv")
    assert len(tracks) == 6 and report.fmt == "kaggle"
    assert catalog.count() == 0


def test_bom_and_crlf(catalog, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffid,name,artists\r\nb1,Café,Zoé\r\n".encode())
    report = import_file(catalog, path)
    assert report.added == 1 and report.skipped == []
    assert catalog.get_track("b1")["name"] == "Café"


def test_gzip_detected_by_content_not_name(catalog, tmp_path):
    path = tmp_path / "tracks.csv"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("id,name,artists\ng1,Song,A\n")
    assert import_file(catalog, path).added == 1
    plain = tmp_path / "plain.csv.gz"
    shutil.copy(DATA / "generic.csv", plain)
    assert import_file(catalog, plain).fmt == "generic"


def test_most_frequent():
    assert most_frequent(["rock", "pop", "pop", "rock"]) == "rock"  # tie: first seen
    assert most_frequent(["", "pop", ""]) == "pop"
    assert most_frequent([]) is None
