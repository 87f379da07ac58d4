"""The pieces the facade composes: uploads as files, one emotion point, kept recommenders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodtune.audio.upload import upload_as_file, upload_suffix
from moodtune.errors import CatalogError, MoodtuneError, ParameterError
from moodtune.types import LABELS, EmotionEstimate


def test_upload_errors_name_the_upload_not_server_paths() -> None:
    seen: list[Path] = []

    def fail_reading(p: Path) -> None:
        seen.append(p)
        assert p.suffix == ".ogg" and p.read_bytes() == b"abc"
        raise ParameterError(f"{p}: cannot read; the music /home/me/Music/x.ogg is fine")

    with pytest.raises(ParameterError) as info, upload_as_file(b"abc", filename="clip.OGG") as p:
        fail_reading(p)
    message = str(info.value)
    assert message.startswith("the uploaded file: cannot read")
    assert "a file on the server" in message and "/home" not in message
    assert str(seen[0].parent) not in message and not seen[0].exists()


def test_upload_suffixes_and_empty_uploads() -> None:
    assert upload_suffix("voice.Opus") == ".opus"
    assert upload_suffix("../../etc/passwd") == ".bin"
    assert upload_suffix("a.b c") == ".bin" and upload_suffix(None) == ".bin"
    with pytest.raises(ParameterError, match="upload is empty"), upload_as_file(b""):
        pass


def test_analyze_upload_of_garbage_names_the_upload(tmp_path: Path) -> None:
    from moodtune.service import Moodtune

    svc = Moodtune(catalog_path=tmp_path / "c.sqlite")
    with pytest.raises(MoodtuneError) as info:
        svc.analyze_upload(b"not audio at all " * 64, filename="song.mp3")
    assert "/tmp" not in str(info.value) and "moodtune-upload" not in str(info.value)


def _sad(confidence: float) -> EmotionEstimate:
    probs = np.zeros(len(LABELS))
    probs[LABELS.index("sadness")] = 1.0
    return EmotionEstimate.from_probabilities(probs, confidence=confidence)


def test_one_emotion_point_for_a_file_and_a_catalog_track() -> None:
    """The analysed file's point and the stored track's point have one shape and value."""
    from moodtune.music.lyrics import LyricsEmotion, track_emotion_point

    found = LyricsEmotion(source="txt", language="en", text="so sad", emotion=_sad(0.5))
    stored = found.to_dict()
    stored.pop("label")  # the catalog keeps probabilities, not the label
    from_file = track_emotion_point(0.3, -0.2, found)
    from_catalog = track_emotion_point(0.3, -0.2, stored)
    assert from_file == from_catalog
    assert from_catalog["lyrics"]["label"] == "sadness"


def test_track_view_of_an_imported_row_uses_its_valence_and_energy() -> None:
    from moodtune.music.report import track_view

    row = {"id": "t1", "name": "x", "valence": 0.75, "energy": 0.25, "genre": "rock"}
    seen: list[dict[str, object]] = []

    def words(*args: object, **kw: object) -> dict[str, object]:
        seen.append(dict(kw))
        return {"text": "words", "source": "template", "model": None, "note": None}

    view = track_view(row, describe=words)
    assert view["curve"] is None
    assert view["emotion_point"]["audio"] == {"valence": 0.5, "arousal": -0.5}
    assert view["genre_info"]["label"] == "rock" and view["genre_info"]["source"] == "catalog"
    assert view["description"]["text"] == "words" and seen == [{"genre": "rock"}]


def test_pool_keeps_one_recommender_until_the_catalog_changes(tmp_path: Path) -> None:
    from moodtune.catalog.repository import Catalog
    from moodtune.recommend.pool import RecommenderPool

    song = tmp_path / "song.wav"
    song.write_bytes(b"RIFF")
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        base = {"artists": ["a"], "energy": 0.5, "danceability": 0.5, "tempo": 100.0}
        cat.upsert_tracks([{"id": t, "name": t, "valence": 0.5, **base} for t in ("a", "b")])
        pool = RecommenderPool(lambda: cat)
        with pytest.raises(CatalogError, match="no track with a local audio file"):
            pool.local_files()
        cat.add_library_root(tmp_path)
        cat.record_file(song, track_id="a", size=4, mtime_ns=1, sha256="s" * 8)
        table, rec = pool.local_files()
        assert list(table.id) == ["a"] and pool.local_files()[1] is rec  # kept, not rebuilt
        main = pool.main()[1]
        assert pool.main()[1] is main
        pool.reset()
        assert pool.main()[1] is not main
