"""Debian's Chromium driven by Playwright (never a downloaded browser), and the checks every
page gets: a screenshot under test-artifacts/console/, axe-core's WCAG 2.1 A/AA rules, every
form control labelled, and no sideways scrolling at phone width."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("BYTESPIKE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
AXE_SOURCE = (Path(__file__).with_name("vendor") / "axe.min.js").read_text()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}

UNLABELLED_CONTROLS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 200))"""

WIDER_THAN_THE_WINDOW = """() => Array.from(document.querySelectorAll('body *'))
  .filter(el => el.getBoundingClientRect().right > window.innerWidth)
  .map(el => el.outerHTML.slice(0, 120)).slice(-5)"""


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


async def launch(playwright: Any) -> Any:
    require_chromium()
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


async def check_page(page: Any, name: str) -> None:
    """Screenshot, accessibility and layout checks for the page as it is now."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    unlabelled = await page.evaluate(UNLABELLED_CONTROLS)
    assert unlabelled == [], f"{name}: unlabelled form controls {unlabelled}"
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE_SOURCE)  # CDP evaluation is not subject to the page's CSP
    result = await page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.html)})); }",
        AXE_TAGS,
    )
    assert result == [], f"{name}: axe violations {result}"
    overflow = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    wide = await page.evaluate(WIDER_THAN_THE_WINDOW) if overflow > 0 else []
    assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px: {wide}"


@asynccontextmanager
async def fresh_page(browser: Any) -> AsyncIterator[Any]:
    """A page of a fresh browser context (no cookies) at desktop size; the context closes after."""
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        await context.close()


@asynccontextmanager
async def signed_in(browser: Any, base: str, email: str, password: str) -> AsyncIterator[Any]:
    """A `fresh_page`, signed in as ``email``."""
    async with fresh_page(browser) as page:
        await sign_in(page, base, email, password)
        yield page


async def sign_in(page: Any, base: str, email: str, password: str) -> None:
    """Sign in through the page, as a person would."""
    await page.goto(base + "/sign-in")
    await page.fill("#f-email", email)
    await page.fill("#f-password", password)
    await page.click("main button:has-text('Sign in')")
    await page.wait_for_url("**/dashboard")
