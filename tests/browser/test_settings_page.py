"""The settings page in headless Chromium against a real server: client, token, use, revoke.

Screenshots go to test-artifacts/; with POWERCTL_DOC_IMAGES=1 also to docs/images/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests

from tests.e2e.server_support import start_server
from tests.support import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STATES = "/restapi/relay/outlets/all;/state/"

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        pytest.fail("chromium is missing; .ci/run installs it, so CI must run this test", pytrace=False)
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (only once chromium is known)


@pytest.fixture
def server(tmp_path):
    running = start_server(tmp_path / "data", http=True)
    yield running
    running.stop()


@pytest.fixture
def page(tmp_path):
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            http_credentials={"username": "admin", "password": ADMIN_PASSWORD},
            viewport={"width": 1280, "height": 800},
        )
        tab = context.pages[0] if context.pages else context.new_page()
        tab.set_default_timeout(15_000)
        tab.on("dialog", lambda dialog: dialog.accept())
        yield tab
        context.close()


def screenshot(page, name: str) -> None:
    targets = [ROOT / "test-artifacts"]
    if os.environ.get("POWERCTL_DOC_IMAGES"):
        targets.append(ROOT / "docs" / "images")
    for folder in targets:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / name), full_page=True)


def use(server, token: str) -> int:
    return requests.get(
        server.url(STATES), headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).status_code


def test_create_client_make_token_use_it_revoke_it(server, page):
    page.goto(server.url("/settings/"))
    page.fill("#client-id", "lab")
    page.fill("#client-scopes", "/relay/outlets/all;locked/")
    page.dispatch_event("#client-scopes", "input")
    assert "column 20" in page.locator("#scope-feedback li.error").inner_text()

    page.fill("#client-scopes", "")
    page.click("button[data-scope='/?access=get']")  # the "read all" preset
    page.locator("#scope-feedback li.ok").wait_for()
    page.click("#create-button")
    page.locator("article[data-client='lab']").wait_for()

    page.click("button[data-action='new-token'][data-client='lab']")
    page.locator("#token-panel:not([hidden])").wait_for()
    token = page.input_value("#token-value")
    assert token.startswith("lab.") and len(token) == len("lab.") + 43  # 256 bits, base64url
    assert f"Bearer {token}" in page.input_value("#token-curl")
    screenshot(page, "settings-desktop.png")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "settings-phone.png")
    assert use(server, token) == 207

    page.click("button[data-action='done']")
    page.locator("article[data-client='lab'] button[data-action='revoke-token']").click()
    page.locator("article[data-client='lab'] td.empty").wait_for()
    assert use(server, token) == 401


def test_switch_an_outlet_delete_a_client_and_lift_its_denial(server, page):
    page.goto(server.url("/"))
    page.click("button[data-action='switch'][data-outlet='2'][data-on='false']")
    page.locator("li.outlet.off[data-outlet='2']").wait_for()
    states = requests.get(
        server.url(STATES), auth=requests.auth.HTTPDigestAuth("admin", ADMIN_PASSWORD), timeout=10
    ).json()
    assert states[2] is False and states[1] is True

    page.fill("#client-id", "gone")
    page.click("button[data-scope='/?access=get']")
    page.click("#create-button")
    page.locator("article[data-client='gone']").wait_for()
    page.click("button[data-action='delete-client'][data-client='gone']")
    page.locator("button[data-action='lift'][data-client='gone']").click()
    page.get_by_text("None.").wait_for()
    audit = page.locator("ol.audit").inner_text()
    assert "Client gone denial lifted by user admin" in audit
