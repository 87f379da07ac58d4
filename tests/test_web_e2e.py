"""The web page end to end in a real headless Chromium (Debian's), driven by Playwright.

Needs ``apt-get install chromium`` and ``pip install playwright`` (no browser download:
the system Chromium is launched). Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

if TYPE_CHECKING:
    from moodtune.service import Moodtune

CHROMIUM = os.environ.get("MOODTUNE_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium", allow_module_level=True)

from local_servers import uvicorn_server  # noqa: E402

SPEECH = Path(__file__).parent / "data" / "speech"
LYRICS = Path(__file__).parent / "data" / "lyrics"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moodtune]:
    """The facade the server uses (its own home; no API key, no LLM)."""
    from moodtune.service import Moodtune

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOODTUNE_HOME", str(tmp_path_factory.mktemp("web_home")))
        mp.delenv("MOODTUNE_API_KEY", raising=False)
        mp.delenv("MOODTUNE_LLM_URL", raising=False)
        svc = Moodtune()
        svc.catalog()
        yield svc


@pytest.fixture(scope="module")
def server(service: Moodtune) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread."""
    from moodtune.api.app import create_app

    with uvicorn_server(create_app(service, warm_up=False)) as url:
        yield url


@pytest.fixture(scope="module")
def playwright() -> Iterator[object]:
    """One Playwright driver per module (a second sync driver in one thread fails)."""
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: object) -> Iterator[object]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)  # type: ignore[attr-defined]
    yield b
    b.close()


def _ids(page: object) -> list[str]:
    return page.eval_on_selector_all("#playlist > li", "els => els.map(e => e.dataset.id)")  # type: ignore[attr-defined]


def _wait_requests(page: object, n: int) -> None:
    page.wait_for_selector(f'body[data-requests="{n}"]', timeout=120_000)  # type: ignore[attr-defined]


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=60) as resp:
        data: dict[str, object] = json.loads(resp.read())
    return data


@pytest.mark.slow
def test_voice_upload_playlist_like_changes_it(server: str, browser: object) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1100, "height": 1500})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(server) else None,
    )
    page.goto(server + "/")
    assert page.title().startswith("moodtune")
    page.screenshot(path=str(ARTIFACTS / "web_empty.png"))

    page.set_input_files("#file", str(SPEECH / "en_sad.ogg"))
    page.select_option("#strategy", "uplift")
    page.fill("#n", "8")
    page.click("#go")
    _wait_requests(page, 1)
    transcript = page.inner_text("#transcript")
    assert "sad" in transcript.lower() or page.inner_text("#label") == "sadness"
    assert page.locator("#bars .bar.voice").count() == 7
    assert page.locator("#bars .bar.fused").count() == 7
    # the synthesized voice is unsure: said so, and its bars are drawn empty
    assert page.inner_text("#head-voice") == "voice: unsure"
    voice_bars = page.locator("#bars .bar.voice")
    assert all(voice_bars.nth(i).get_attribute("aria-valuenow") == "0" for i in range(7))
    assert page.locator("#map #me").count() == 1 and page.locator("#map #path").count() == 1
    assert page.locator("#map .track-dot").count() == 8
    first = _ids(page)
    assert len(first) == 8
    assert page.locator("#playlist a", has_text="Spotify").count() >= 1
    targets = page.inner_text("#targets-line")
    assert targets.startswith("music targets: built-in") and "BPM" in targets, targets
    page.screenshot(path=str(ARTIFACTS / "web_playlist.png"), full_page=True)

    uploads: list[str] = []
    page.on(
        "request",
        lambda r: (
            uploads.append(r.headers.get("content-type", ""))
            if r.url.endswith("/v1/recommend")
            else None
        ),
    )
    page.locator("#playlist .like").nth(2).click()
    _wait_requests(page, 2)
    second = _ids(page)
    assert second == first, "a like keeps the playlist"
    liked = page.locator("#playlist > li.liked")
    assert liked.count() == 1 and liked.first.get_attribute("data-id") == first[2]
    assert "♥ liked" in liked.first.inner_text()
    assert liked.first.locator(".like").get_attribute("aria-pressed") == "true"
    # the refresh sends the emotion already heard, not the voice message again
    assert uploads and all(ct.startswith("application/json") for ct in uploads), uploads
    assert transcript == page.inner_text("#transcript")  # what was heard stays on screen
    page.locator("#playlist .skip").first.click()
    _wait_requests(page, 3)
    third = _ids(page)
    assert second[0] not in third and len(third) == 8  # the skipped track is replaced ...
    assert third[1:] == second[1:]  # ... and only that one
    assert page.locator("#playlist > li.liked").first.get_attribute("data-id") == first[2]
    page.screenshot(path=str(ARTIFACTS / "web_feedback.png"), full_page=True)

    page.locator("#playlist .title").first.click()
    page.wait_for_selector("#similar li", timeout=60_000)
    assert page.locator("#track-body dt").count() >= 5
    # the words: the API's description and genre are shown as they are
    view = _get(f"{server}/v1/tracks/{third[0]}")
    desc, genre = view["description"], view["genre_info"]
    assert isinstance(desc, dict) and isinstance(genre, dict)
    assert page.inner_text("#track-desc") == desc["text"]
    assert page.locator("#track-desc").is_visible()
    assert "template" in page.inner_text("#track-desc-by")
    assert page.inner_text("#genre-label") == genre["label"]
    assert page.locator("#genre-label").is_visible()
    assert page.locator("#track-genre .bar.genre").count() == len(genre["probabilities"]) == 6
    top = max(genre["probabilities"].items(), key=lambda kv: kv[1])
    first_bar = page.locator("#track-genre .bar.genre").first
    assert first_bar.get_attribute("aria-label") == f"{top[0]} {round(100 * top[1])}%"
    assert "No words known" in page.inner_text("#track-lyrics")  # a catalog track
    page.locator("#track-card").screenshot(path=str(ARTIFACTS / "web_track.png"))
    assert not errors, errors
    assert not external, external  # works offline: nothing outside this server


@pytest.mark.slow
def test_mood_journey_is_drawn_on_the_map(server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 1500})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    page.select_option("#journey-from", "sadness")
    page.select_option("#journey-to", "happiness")
    page.fill("#journey-n", "10")
    page.click("#journey-go")
    _wait_requests(page, 1)
    assert page.locator("#map #path").count() == 1  # the path is drawn
    assert page.locator("#map .track-dot").count() == 10
    ids = _ids(page)
    assert len(ids) == 10 and len(set(ids)) == 10
    points = page.eval_on_selector("#map #path", "p => p.getAttribute('points')")
    xs = [float(pt.split(",")[0]) for pt in points.split()]
    assert xs[-1] > xs[1] + 100  # the targets run from sad (left) to happy (right)
    dots = page.eval_on_selector_all(
        "#map .track-dot circle", "cs => cs.map(c => parseFloat(c.getAttribute('cx')))"
    )
    assert sum(dots[-3:]) / 3 > sum(dots[:3]) / 3  # so do the tracks
    page.screenshot(path=str(ARTIFACTS / "web_journey.png"), full_page=True)
    assert not errors, errors


@pytest.mark.slow
def test_mixed_feelings_are_shown(server: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(server + "/")
    page.fill("#text", "I got the job but I have to move away… happy and sad")
    page.click("#go")
    _wait_requests(page, 1)
    assert set(page.inner_text("#mixed").split(" + ")) == {"happiness", "sadness"}
    page.fill("#text", "see you at 5")
    page.click("#go")
    _wait_requests(page, 2)
    assert page.locator("#mixed").count() == 0


@pytest.mark.slow
def test_text_by_keyboard_and_errors(server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 420, "height": 900})  # type: ignore[attr-defined]
    page.goto(server + "/")
    page.click("#go")
    assert "type a few words" in page.inner_text("#error")
    page.focus("#text")
    page.keyboard.type("I am furious!")
    page.select_option("#strategy", "calm")
    page.focus("#go")
    page.keyboard.press("Enter")
    _wait_requests(page, 1)
    assert page.inner_text("#label") == "anger"
    assert page.locator("#bars .bar.voice").count() == 7  # shown empty: no voice part
    page.screenshot(path=str(ARTIFACTS / "web_mobile_text.png"), full_page=True)
    page.fill("#n", "500")
    page.click("#go")
    assert "1 to 100" in page.inner_text("#error")


@pytest.mark.slow
def test_microphone_recording(server: str, playwright: object, tmp_path: Path) -> None:
    """MediaRecorder path: Chromium's fake microphone plays a real voice message."""
    from moodtune.audio.decode import decode
    from moodtune.audio.encode import encode_audio

    audio = decode(SPEECH / "en_happy.ogg")
    wav = tmp_path / "mic.wav"
    pad = np.zeros(int(0.3 * audio.sr), dtype=audio.y.dtype)
    wav.write_bytes(encode_audio(np.concatenate([pad, audio.y, pad]), sr=audio.sr, fmt="wav"))
    fake = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
    ]
    b = playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM, args=ARGS + fake, headless=True
    )
    try:
        page = b.new_page()
        page.goto(server + "/")
        page.click("#record")
        page.wait_for_selector('#record[aria-pressed="true"]', timeout=10_000)
        page.wait_for_timeout(int(1000 * (audio.y.size / audio.sr + 0.8)))
        page.click("#record")
        page.wait_for_selector("#rec-status:has-text('Recorded')", timeout=10_000)
        page.click("#go")
        _wait_requests(page, 1)
        assert page.locator("#bars .bar.voice").count() == 7
        assert "happy" in page.inner_text("#transcript-text").lower()
        page.screenshot(path=str(ARTIFACTS / "web_recorded.png"))
    finally:
        b.close()


@pytest.mark.slow
def test_track_view_shows_lyrics_genre_and_description(
    server: str, service: object, browser: object, tmp_path: Path
) -> None:
    """A scanned song with a .lrc file: lyrics emotion, genre bars and description."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("sidecar_song.ogg", "sidecar_song.lrc"):
        shutil.copy(LYRICS / name, lib / name)
    assert service.scan(lib, workers=1).analysed == 1  # type: ignore[attr-defined]
    # a scanned file's id: "local:" and the start of its SHA-256
    track_id = "local:" + hashlib.sha256((lib / "sidecar_song.ogg").read_bytes()).hexdigest()[:16]
    view = _get(f"{server}/v1/tracks/{track_id}")
    lyrics = view["lyrics"]
    assert isinstance(lyrics, dict) and lyrics["source"] == "lrc"
    probs = lyrics["probabilities"]
    assert isinstance(probs, dict)
    page = browser.new_page(viewport={"width": 1000, "height": 1200})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    page.evaluate("id => showTrack(id)", track_id)
    page.wait_for_selector("#track-lyrics blockquote", timeout=60_000)
    page.wait_for_selector("#similar", timeout=60_000)
    assert page.inner_text("#lyrics-label") == max(probs, key=lambda k: probs[k])
    assert "from the .lrc file" in page.inner_text("#track-lyrics")
    assert "happy" in page.inner_text("#track-lyrics blockquote").lower()
    point = view["emotion_point"]
    assert isinstance(point, dict)
    share = page.inner_text("#lyrics-share")
    assert f"{round(100 * point['lyrics_share'])}%" in share
    desc = view["description"]
    assert isinstance(desc, dict)
    assert page.inner_text("#track-desc") == desc["text"]
    assert "from the curve" in page.inner_text("#track-desc-by")
    assert page.locator("#curve").count() == 1
    assert page.locator("#track-genre .bar.genre").count() == 6
    genre = view["genre_info"]
    assert isinstance(genre, dict)
    heading = page.inner_text("#track-genre h3")
    if genre["label"] == "other":  # the classifier abstains: its probabilities are kept
        assert "no genre is likely" in heading and "uncertain" not in heading
    else:
        unsure = genre["source"] == "classifier" and genre["probabilities"][genre["label"]] < 0.5
        assert ("uncertain" in heading) == unsure
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.locator("#track-card").screenshot(path=str(DOCS_IMG / "web_track_words.png"))
    # narrow screens: the genre and lyrics columns stack, nothing overflows sideways
    page.set_viewport_size({"width": 380, "height": 900})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380, width
    assert not errors, errors
