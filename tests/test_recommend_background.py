"""The background-track rule: long enough plays once, shorter loops only if made to loop."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from moodtune.errors import ParameterError
from moodtune.mix.render import fit_music
from moodtune.music.loop import loop_check_file
from moodtune.recommend.background import BackgroundCandidate, choose_background

C = BackgroundCandidate


def _never(c: BackgroundCandidate) -> bool:
    raise AssertionError(f"loopable asked for {c.name} though a long track fits")


def test_the_best_track_as_long_as_the_voice_plays_once() -> None:
    cands = [C("a", "short", 40.0), C("b", "long", 200.0), C("c", "longer", 300.0)]
    choice = choose_background(cands, voice_s=120.0, loopable=_never)
    assert choice.candidate.track_id == "b" and not choice.loop and choice.note is None


def test_a_shorter_track_loops_only_if_made_to_loop_and_says_so() -> None:
    asked: list[str] = []

    def loopable(c: BackgroundCandidate) -> bool:
        asked.append(c.track_id)
        return c.track_id == "b"

    cands = [C("a", "Song", 80.0), C("b", "Loop", 60.0), C("c", "Other", 90.0)]
    choice = choose_background(cands, voice_s=120.0, loopable=loopable)
    assert choice.candidate.track_id == "b" and choice.loop
    assert asked == ["a", "b"]  # best first, stops at the first loop
    assert "made to loop" in (choice.note or "") and "120 s" in (choice.note or "")


def test_nothing_made_to_loop_plays_the_longest_once_and_fades() -> None:
    cands = [C("a", "Song", 80.0), C("b", "Jingle", math.nan), C("c", "Other", 90.0)]
    choice = choose_background(cands, voice_s=120.0, loopable=lambda c: False)
    assert choice.candidate.track_id == "c" and not choice.loop
    assert "not made to loop" in (choice.note or "") and "fades out" in (choice.note or "")


def test_bad_input() -> None:
    with pytest.raises(ParameterError, match="no background track"):
        choose_background([], voice_s=10.0, loopable=lambda c: True)
    with pytest.raises(ParameterError, match="voice_s"):
        choose_background([C("a", "x", 1.0)], voice_s=math.inf, loopable=lambda c: True)


def test_rule_on_real_files_and_the_render_option(tmp_path: Path) -> None:
    """A generated loop file and a song that fades out, both shorter than the voice."""
    sr = 22050
    t = np.arange(2 * sr) / sr
    bar = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (220.0, 261.5, 329.5))
    rng = np.random.default_rng(0)
    hit = rng.normal(0, 0.3, sr // 2) * np.exp(-np.arange(sr // 2) / (0.05 * sr))
    loop = np.tile(bar + np.tile(hit, 4), 8)
    song = loop * np.r_[np.ones(loop.size - 4 * sr), np.linspace(1, 0, 4 * sr) ** 2]
    sf.write(tmp_path / "loop.wav", loop, sr)
    sf.write(tmp_path / "song.wav", song, sr)
    assert loop_check_file(tmp_path / "loop.wav").loopable
    assert not loop_check_file(tmp_path / "song.wav").loopable

    def loopable(c: BackgroundCandidate) -> bool:
        return loop_check_file(tmp_path / f"{c.track_id}.wav").loopable

    voice_s = 40.0
    song_first = [C("song", "Song", 16.0), C("loop", "Loop", 16.0)]
    choice = choose_background(song_first, voice_s=voice_s, loopable=loopable)
    assert choice.candidate.track_id == "loop" and choice.loop
    choice = choose_background(song_first[:1], voice_s=voice_s, loopable=loopable)
    assert choice.candidate.track_id == "song" and not choice.loop

    # fit_music: loop=False plays once, fades out and leaves silence; loop=True repeats
    stereo = np.vstack([song, song]).astype(np.float32)
    n = int(voice_s * sr)
    once = fit_music(stereo, sr=sr, n_samples=n, loop=False)
    looped = fit_music(stereo, sr=sr, n_samples=n, loop=True)
    assert once.shape == looped.shape == (2, n)
    after = slice(song.size + 10, n)
    assert np.abs(once[:, after]).max() == 0.0  # nothing after the song ends
    assert np.abs(looped[:, after]).max() > 0.1  # the loop goes on
    assert np.allclose(once[:, sr : 5 * sr], stereo[:, sr : 5 * sr])  # untouched inside
