"""The web page's rough edges in a real headless Chromium: percentages, favicon, wording."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("MOODTUNE_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium", allow_module_level=True)

from local_servers import uvicorn_server  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from moodtune.api.app import create_app
    from moodtune.service import Moodtune

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOODTUNE_HOME", str(tmp_path_factory.mktemp("web_home")))
        mp.delenv("MOODTUNE_API_KEY", raising=False)
        mp.delenv("MOODTUNE_LLM_URL", raising=False)
        svc = Moodtune()
        svc.catalog()
        with uvicorn_server(create_app(svc, warm_up=False)) as url:
            yield url


@pytest.mark.slow
def test_bars_show_percentages_no_404_and_catalog_tracks_are_not_told_to_scan(
    server: str,
) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            failed: list[str] = []
            page.on(
                "response",
                lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server + "/")
            page.wait_for_load_state("networkidle")
            icon = page.get_attribute('link[rel="icon"]', "href")
            assert icon and icon.startswith("data:image/png;base64,")

            page.fill("#text", "I am furious, nothing works!")
            page.click("#go")
            page.wait_for_selector('body[data-requests="1"]', timeout=120_000)
            cells = page.locator("#bars .bar-cell")
            assert cells.count() == 21  # 7 emotions x voice, text, fused
            fused = page.locator("#bars .bar.fused")
            for i in range(7):
                bar = fused.nth(i)
                shown = page.locator("#bars .bar-cell:has(.bar.fused) .pct").nth(i).inner_text()
                assert shown == f"{bar.get_attribute('aria-valuenow')}%"
            voice = page.locator("#bars .bar-cell:has(.bar.voice) .pct").first.inner_text()
            assert voice == "–"  # no voice part in a typed message: no number invented

            page.locator("#playlist .title").first.click()
            page.wait_for_selector("#similar li", timeout=60_000)
            body = page.inner_text("#track-body")
            assert "scan the local file" not in body
            assert "catalog track" in body
            page.wait_for_load_state("networkidle")
            assert not failed, failed  # no favicon 404, nothing else missing
            assert not errors, errors
        finally:
            browser.close()
