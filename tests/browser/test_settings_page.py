"""The settings page in headless Chromium against a real server: sign-in, outlets (cycle, rename,
switch), users and a password change, the history chart, clients and tokens, denials.

Screenshots go to test-artifacts/; with POWERCTL_DOC_IMAGES=1 also to docs/images/.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import time
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPDigestAuth

from powerctl.store import Database
from powerctl.store import history as history_store
from tests.e2e.server_support import as_admin, start_server
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
HISTORY = "/restapi/meter/values/{id}/history/"
POWER = "bus.0.power"
ENERGY = "bus.0.total_energy"
SEEDED = 3600  # s of history in the store before the server starts, one sample each 10 s
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CYCLE_DELAY = 2  # s, so the cycle's return is seen soon

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        pytest.fail("chromium is missing; .ci/run installs it, so CI must run this test", pytrace=False)
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402  (only once chromium is known)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module (each test uses its own outlets, users and clients)."""
    data = tmp_path_factory.mktemp("page") / "data"
    seed_history(data)
    running = start_server(data, http=True)
    try:
        assert as_admin(running, "PUT", "/restapi/relay/cycle_delay/", json=CYCLE_DELAY).status_code == 204
        yield running
    finally:
        running.stop()


def seed_history(data: Path) -> None:
    """An hour of a varying load in the store, as the sampler would have left it."""
    data.mkdir(parents=True)
    db = Database(data / "powerctl.db")
    try:
        ids = history_store.meter_ids(db, [POWER, ENERGY])
        now = int(time.time())
        energy = 0.0
        with db.transaction():
            for t in range(now - SEEDED, now, 10):
                power = 600 + 250 * math.sin(t / 700) + 60 * math.sin(t / 90)
                energy += power * 10
                history_store.add_samples(db, t, {ids[POWER]: round(power, 1), ids[ENERGY]: energy})
    finally:
        db.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


def open_tab(browser, user: str = "admin", password: str = ADMIN_PASSWORD, viewport=DESKTOP):
    credentials = {"username": user, "password": password}
    context = browser.new_context(http_credentials=credentials, viewport=viewport)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.on("dialog", lambda dialog: dialog.accept())
    return tab


@pytest.fixture
def page(browser):
    tab = open_tab(browser)
    yield tab
    tab.context.close()


def screenshot(page, name: str, element: str | None = None) -> None:
    targets = [ROOT / "test-artifacts"]
    if os.environ.get("POWERCTL_DOC_IMAGES"):
        targets.append(ROOT / "docs" / "images")
    for folder in targets:
        folder.mkdir(parents=True, exist_ok=True)
        if element is None:
            page.screenshot(path=str(folder / name), full_page=True)
        else:
            page.locator(element).screenshot(path=str(folder / name))


def admin_get(server, path: str, **params) -> requests.Response:
    return as_admin(server, "GET", path, params=params)


def history_missing(server) -> str | None:
    """Why the chart cannot be tested: the history endpoint it draws from is not served."""
    now = int(time.time())
    response = admin_get(server, HISTORY.format(id=POWER), **{"from": now - 3600, "to": now})
    if response.status_code == 404:
        return f"GET {HISTORY} (meter power history) is not served by this build: {response.text[:120]}"
    return None


def use(server, token: str) -> int:
    return requests.get(
        server.url(STATES), headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).status_code


def test_sign_in_cycle_rename_and_the_history_chart(server, browser, page):
    # Playwright answers a challenge with its credentials, once: a wrong password stands in
    # for a cancelled prompt (without any, it aborts the navigation instead of showing the 401)
    stranger = open_tab(browser, password="not the password")
    answer = stranger.goto(server.url("/settings/"))
    assert answer.status == 401 and answer.headers["www-authenticate"].startswith("Digest ")
    expect(stranger.get_by_role("heading", name="Sign in to powerctl")).to_be_visible()
    stranger.context.close()

    page.goto(server.url("/settings/"))
    expect(page.locator("#whoami")).to_have_text("admin")
    outlet = page.locator("li.outlet[data-outlet='1']")
    expect(outlet.locator(".state")).to_have_text("on")
    outlet.locator("button[data-action='cycle']").click()
    expect(page.locator("#outlets .note")).to_contain_text(
        f"Outlet 1 cycling: off now, back on in {CYCLE_DELAY} s"
    )
    expect(outlet.locator(".pending")).to_contain_text("cycle pending: on in")
    expect(outlet.locator(".state")).to_have_text("off")
    expect(outlet.locator(".state")).to_have_text("on", timeout=10_000)  # polled every 2 s
    expect(outlet.locator(".pending")).to_have_text("")

    outlet.locator("button[data-action='switches']").click()  # from the audit trail
    expect(outlet.locator("ol.switches li")).to_have_count(1)
    expect(outlet.locator("ol.switches li")).to_contain_text("cycle by admin via restapi")

    outlet.locator("input[name='name']").fill("kettle")
    outlet.locator("form.rename button").click()
    expect(page.locator("#outlets .note")).to_have_text("Outlet 1 renamed to “kettle”.")
    assert admin_get(server, "/restapi/relay/outlets/1/name/").json() == "kettle"

    outlet.locator("button[data-action='lock']").click()
    expect(outlet.locator("button[data-action='lock']")).to_have_text("Unlock")
    outlet.locator("button[data-action='switch'][data-on='false']").click()
    expect(page.locator("#outlets .note")).to_contain_text("is locked")  # the server's 409, in place

    page.fill("#role-name", "viewer")
    page.fill("#role-scopes", "/relay/outlets/=9,x/state/")
    page.dispatch_event("#role-scopes", "input")
    expect(page.locator("#roles .scope-feedback li.warning")).to_contain_text(
        'no "9", "x" under /relay/outlets/'
    )
    page.click("#role-form button[type='submit']")
    expect(page.locator("article[data-role='viewer']")).to_be_visible()  # a warning, not a refusal

    missing = history_missing(server)
    if missing is None:
        chart = page.locator("#meters figure[data-quantity='power'] svg path.line")
        expect(chart).to_have_attribute("d", _with_points())
        assert (
            int(page.locator("#meters figure[data-quantity='power'] svg").get_attribute("data-points")) >= 300
        )
        expect(page.locator("#meters figure[data-quantity='energy'] svg path.line")).to_have_count(1)
        page.click("#meters button[data-action='range'][data-seconds='86400']")
        expect(page.locator("#meters button[aria-pressed='true']")).to_have_text("day")
        expect(chart).to_have_attribute("d", _with_points(), timeout=15_000)
        page.click("#meters button[data-action='range'][data-seconds='3600']")
        expect(chart).to_have_attribute("d", _with_points(), timeout=15_000)
        screenshot(page, "settings-chart.png", "#meters")
    screenshot(page, "settings-desktop.png")
    page.set_viewport_size(PHONE)
    if missing is None:  # drawn again at the phone's width
        power = page.locator("#meters figure[data-quantity='power'] svg")
        expect(power).to_have_attribute("viewBox", re.compile(r"^0 0 3\d\d 180$"))
    screenshot(page, "settings-phone.png")
    if missing is not None:
        pytest.skip(f"the history chart is not tested: {missing}")


def _with_points():
    return re.compile(r"^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+")  # a line through two points or more


def test_add_a_user_change_its_password_and_sign_in_with_it(server, browser, page):
    page.goto(server.url("/settings/"))
    form = page.locator("#create-user")
    form.locator("input[name='name']").fill("ops")
    form.locator("input[name='password']").fill("first password")
    form.locator("input[name='is_admin']").check()
    form.locator("button[type='submit']").click()
    expect(page.locator("#users .note")).to_have_text("User ops added (admin).")
    form.locator("input[name='name']").fill("ops")
    form.locator("input[name='password']").fill("third password")
    form.locator("button[type='submit']").click()
    expect(page.locator("#users .note")).to_contain_text("user 'ops' exists")  # the server's 409
    row = page.locator("tr[data-user='ops']")
    row.locator("input[name='password']").fill("second password")
    row.locator("form button").click()
    expect(page.locator("#users .note")).to_have_text("Password of ops changed.")

    ops = open_tab(browser, user="ops", password="second password", viewport=PHONE)
    assert ops.goto(server.url("/settings/")).status == 200
    expect(ops.locator("#whoami")).to_have_text("ops")
    mine = ops.locator("#my-password")  # DLI's own form: the old password, then the new one
    mine.locator("input[name='old']").fill("second password")
    mine.locator("input[name='new']").fill("third password")
    mine.locator("button[type='submit']").click()
    expect(ops.locator("#users .note")).to_contain_text("Your password is changed")
    ops.context.close()
    again = open_tab(browser, user="ops", password="third password")
    assert again.goto(server.url("/settings/")).status == 200
    again.context.close()
    old = requests.get(server.url("/settings/"), auth=HTTPDigestAuth("ops", "second password"), timeout=10)
    assert old.status_code == 401

    row.locator("input[data-field='is_admin']").uncheck()
    row.locator("input[data-field='outlet'][value='3']").check()
    row.locator("button[data-action='save-user']").click()
    expect(page.locator("#users .note")).to_have_text("User ops saved.")
    ops_record = admin_get(server, "/restapi/auth/users/ops/").json()
    assert ops_record["is_admin"] is False and ops_record["outlet_access"][:5] == [False] * 3 + [True, False]
    page.locator("tr[data-user='ops'] button[data-action='delete-user']").click()
    expect(page.locator("tr[data-user='ops']")).to_have_count(0)
    expect(page.locator("#users .note")).to_have_text("User ops deleted.")


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
    assert use(server, token) == 207

    page.click("button[data-action='done']")
    page.locator("article[data-client='lab'] button[data-action='revoke-token']").click()
    page.locator("article[data-client='lab'] td.empty").wait_for()
    expect(page.locator("#clients .note")).to_contain_text("revoked")
    assert use(server, token) == 401


def test_switch_an_outlet_delete_a_client_and_lift_its_denial(server, page):
    page.goto(server.url("/"))
    page.click("button[data-action='switch'][data-outlet='2'][data-on='false']")
    page.locator("li.outlet.off[data-outlet='2']").wait_for()
    states = admin_get(server, STATES).json()
    assert states[2] is False and states[1] is True

    role = {"scopes": {"/relay/outlets/all;/=name,state/?access=get": True}}
    assert as_admin(server, "PUT", "/restapi/auth/roles/viewonly/", json=role).status_code == 204
    page.reload()
    page.click("button[data-action='edit-role'][data-role='viewonly']")
    expect(page.locator("#role-scopes")).to_have_value("/relay/outlets/all;/=name,state/?access=get")
    page.fill("#role-description", "reads outlets")
    page.click("#role-form button[type='submit']")
    expect(page.locator("article[data-role='viewonly'] h3")).to_contain_text("reads outlets")
    alice = {"whoami": "alice@example.com", "role": "viewonly"}
    session = as_admin(server, "POST", "/restapi/auth/sessions/", json=alice).json()
    page.reload()
    page.click("#sessions button[data-action='revoke-session']")
    expect(page.locator("#sessions .note")).to_contain_text("Session token revoked")
    held = {"Authorization": f"Bearer {session['token']}"}
    assert requests.get(server.url(STATES), headers=held, timeout=10).status_code == 401

    page.fill("#client-id", "gone")
    page.click("button[data-scope='/?access=get']")
    page.click("#create-button")
    page.locator("article[data-client='gone']").wait_for()
    page.click("button[data-action='delete-client'][data-client='gone']")
    page.locator("button[data-action='lift'][data-client='gone']").click()
    expect(page.locator("#denied .note")).to_have_text("Denial of gone lifted.")
    page.get_by_text("None.").wait_for()
    audit = page.locator("ol.audit").inner_text()
    assert "Client gone denial lifted by user admin" in audit


def test_add_an_autoping_item_see_it_arm_pause_it_and_remove_it(server, page):
    for key, value in (("ping_interval", 0.2), ("ping_timeout", 0.5), ("pings_before_enabling", 2)):
        assert as_admin(server, "PUT", f"/restapi/autoping/{key}/", json=value).status_code == 204
    with socket.create_server(("127.0.0.1", 0)) as listener:  # the watched device: it answers
        listener.listen(64)
        port = listener.getsockname()[1]
        page.goto(server.url("/settings/"))
        form = page.locator("#autoping-form")
        form.locator("input[name='addresses']").fill(f"tcp://127.0.0.1:{port}")
        form.locator("input[name='outlets']").fill("3")
        form.locator("button[type='submit']").click()
        expect(page.locator("#autoping .note")).to_contain_text("Item 0 added")
        row = page.locator("#autoping tr[data-item='0']")
        expect(row).to_contain_text(f"tcp://127.0.0.1:{port}")
        expect(row).to_contain_text("cycle outlets 3")
        expect(row.locator(".autoping-status")).to_have_text("armed", timeout=15_000)  # refreshed every 5 s
        row.locator("button[data-action='autoping-enable']").click()
        expect(page.locator("#autoping .note")).to_have_text("Item 0 paused.")
        expect(row.locator(".autoping-status")).to_have_text("disabled")
        page.locator("#autoping button[data-action='autoping-delete'][data-item='0']").click()
        expect(page.locator("#autoping .note")).to_have_text("Item 0 removed.")
        expect(page.locator("#autoping [data-autoping-empty]")).to_be_visible()
    assert admin_get(server, "/restapi/autoping/items/").json() == []
    assert admin_get(server, STATES).json()[3] is True  # an answering device is never cycled
