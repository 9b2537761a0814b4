#!/usr/bin/env python3
"""The console in a real browser: headless Chromium driven over the W3C WebDriver protocol (chromedriver), against
the real collector, with the real CLI as the shopper's device.

    python3 tests/browser/console.py [--screenshots DIR]

A product person signs in, switches the consent prompt off (the device then reports `prompt_disabled`), switches
it on and publishes a material change (the device reports `policy_material_change`); a form with a forged CSRF
token and a form without a session change nothing. FOOTFALL_BIN (default target/debug/footfall) is the binary,
CHROMIUM and CHROMEDRIVER the browser and its driver (Debian's chromium and chromium-driver by default).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from webdriver import Browser  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
FOOTFALL_BIN = os.environ.get("FOOTFALL_BIN", os.path.join(REPO, "target", "debug", "footfall"))
PASSWORD = "correct horse battery staple"
WRITE_KEY = "write-key-for-the-sdk"
POLICY = {
    "consent": {
        "policyVersion": 3,
        "purposes": [{"id": "analytics"}, {"id": "marketing"}],
        "prompts": [
            {
                "id": "main",
                "enabled": True,
                "purposes": ["analytics", "marketing"],
                "copy": {"title": "consent.main.title", "body": "consent.main.body"},
                "triggers": ["app_start"],
            }
        ],
    },
    "proximity": {
        "version": 1,
        "dailyCap": 3,
        "zones": [{"id": "tokyo-shibuya-01/entrance", "store": "tokyo-shibuya-01", "timeZone": "Asia/Tokyo",
                   "beacons": ["2f234454-cf6d-4a0f-adf2-f4911ba9ffa6:1:2"], "enterRssi": -75}],
        "campaigns": [{"id": "welcome", "zones": ["tokyo-shibuya-01/entrance"], "trigger": "enter", "priority": 10,
                       "cap": {"count": 1, "windowDays": 7},
                       "windows": [{"days": ["sat", "sun"], "from": "10:00", "to": "20:00"}],
                       "offer": {"title": "offer.welcome.title", "body": "offer.welcome.body",
                                 "couponId": "SPRING10"}}],
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    # Polls a connect until the server listens (or exits): a readiness check, not a sleep to synchronise.
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on {port}")


class Device:
    """The shopper's device: the real CLI over a data directory."""

    def __init__(self, base_url: str, data_dir: str):
        self.base_url, self.data_dir = base_url, data_dir

    def run(self, *args: str) -> dict:
        out = subprocess.run([FOOTFALL_BIN, *args], check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    def needs_prompt(self) -> tuple:
        """(prompt, reason) as the app would read them."""
        need = self.run("consent", "needs-prompt", "--data-dir", self.data_dir, "--endpoint", self.base_url,
                        "--api-key", WRITE_KEY)
        return need["prompt"], need["reason"]

    def grant(self, *purposes: str) -> None:
        self.run("consent", "grant", "--data-dir", self.data_dir, *purposes)

    def shop(self) -> None:
        """Walks into the store anonymously, signs in, browses online, and sends it all."""
        def track(name: str, props: dict) -> None:
            subprocess.run([FOOTFALL_BIN, "track", "--data-dir", self.data_dir, "--endpoint", self.base_url,
                            "--api-key", WRITE_KEY, "--name", name, "--props", json.dumps(props)],
                           check=True, capture_output=True)
        track("store_entered", {"store": "tokyo-shibuya-01"})
        subprocess.run([FOOTFALL_BIN, "identify", "--data-dir", self.data_dir, "shopper-7"], check=True,
                       capture_output=True)
        for sku in ("4901234567894", "4909876543210", "4901234567894"):
            track("product_viewed", {"sku": sku, "price": 1980, "currency": "JPY"})
        track("checkout_started", {"items": 2})
        subprocess.run([FOOTFALL_BIN, "flush", "--data-dir", self.data_dir, "--endpoint", self.base_url,
                        "--api-key", WRITE_KEY], check=True, capture_output=True)


def served_etag(base_url: str) -> str:
    auth = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    req = urllib.request.Request(base_url + "/v1/config", headers={"Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(req) as resp:
        return resp.headers["ETag"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: D102
        return None


def post_without_session(base_url: str, path: str, form: dict) -> tuple[int, str]:
    body = urllib.parse.urlencode(form).encode()
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(urllib.request.Request(base_url + path, data=body, method="POST"))
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "")
    raise AssertionError("expected a redirect")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)
    print(f"ok - {what}")


def scenario(browser: Browser, base_url: str, device: Device, shots: str | None) -> None:
    def shot(name: str) -> None:
        if shots:
            browser.screenshot(os.path.join(shots, f"{name}.png"))

    need = device.needs_prompt()
    check(need == ("main", "no_decision"), f"a new device is asked by the main prompt: {need}")

    browser.go(base_url + "/console")
    check(browser.url().endswith("/console/sign-in"), "signed out, the console sends the browser to sign in")
    browser.fill("#user", "maria")
    browser.fill("#password", "not the password")
    browser.click("button[type=submit]")
    check("do not match" in browser.text("main"), "a wrong password is refused with a message")
    shot("sign-in")
    browser.fill("#user", "maria")
    browser.fill("#password", PASSWORD)
    browser.click("button[type=submit]")
    check(browser.url().endswith("/console/consent"), "signed in, the consent page opens")
    check("policy version 3" in browser.text(".live"), "the page shows the live policy version")
    shot("consent")

    browser.click("#switch-main")
    check("prompt 'main' switched off" in browser.text(".notice"), "switching the prompt off is confirmed")
    need = device.needs_prompt()
    check(need == (None, "prompt_disabled"), f"the device sees the prompt off: {need}")

    device.grant("analytics", "marketing")
    check(device.needs_prompt()[1] == "up_to_date", "the shopper decided in the app's settings")
    browser.click("#switch-main")
    check("switched on" in browser.text(".notice"), "the prompt is back on")
    browser.toggle("#material-marketing")
    browser.click("#publish")
    check("policy version 4 published, material change for marketing" in browser.text(".notice"),
          "publishing version 4 with a material change is confirmed")
    shot("consent-published")
    need = device.needs_prompt()
    check(need == ("main", "policy_material_change"),
          f"the device must ask again after the material change: {need}")

    tag = served_etag(base_url)
    browser.execute("document.querySelector('#switch-main').form.querySelector('input[name=csrf]').value = 'forged'")
    browser.click("#switch-main")
    check("Form refused" in browser.text("h1"), "a form with a forged CSRF token is refused")
    check(served_etag(base_url) == tag, "and nothing was published")
    browser.go(base_url + "/console/consent")
    status, location = post_without_session(base_url, "/console/consent/prompt",
                                            {"csrf": "x", "revision": "5", "prompt": "main", "enabled": "false"})
    check((status, location) == (303, "/console/sign-in"), f"a form without a session is sent to sign in: {status}")
    check(served_etag(base_url) == tag, "and nothing was published")

    device.shop()
    browser.go(base_url + "/console/events?user=shopper-7")
    events = browser.text("main")
    check("store_entered" in events and "checkout_started" in events,
          "the events page joins the shopper's in-store and online events")
    shot("events")
    browser.execute("document.querySelector('#shopper-h').scrollIntoView()")
    shot("events-shopper")
    browser.go(base_url + "/console/consent")
    check("Share of decisions that granted" in browser.text("#rates-h + figure, main"),
          "the consent page charts the decisions the device sent")
    browser.execute("document.querySelector('#rates-h').scrollIntoView()")
    shot("consent-decisions")

    browser.go(base_url + "/console/coupons")
    browser.fill("#c-id", "SPRING10")
    browser.fill("#c-title", "10 % off spring jackets")
    browser.fill("#c-discount", "10%")
    browser.execute("document.querySelector('#c-until').value = '2027-03-31'")
    browser.click("#issue")
    check("coupon 'SPRING10' issued" in browser.text(".notice"), "a coupon is issued from the console")
    check("SPRING10" in browser.text("#list-h + table"), "and listed in the wallet")
    shot("coupons")

    browser.go(base_url + "/console/campaigns")
    check("welcome" in browser.text("#campaigns-h + table"), "the campaigns page lists the campaign in force")
    shot("campaigns")
    browser.click("#stop-welcome")
    check("campaign 'welcome' stopped at" in browser.text(".notice"), "a campaign is stopped from the console")

    browser.go(base_url + "/console/audit")
    audit = browser.text("main")
    for entry in ("signed in", "sign-in refused", "prompt 'main' switched off", "coupon 'SPRING10' issued", "campaign 'welcome' stopped at",
                  "policy version 4 published, material change for marketing"):
        check(entry in audit, f"the audit log shows '{entry}'")
    shot("audit")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshots", help="save the main pages as PNG files in this directory")
    args = parser.parse_args()
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "config.json")
        with open(config, "w") as f:
            json.dump(POLICY, f)
        password_file = os.path.join(tmp, "admin-password")
        with open(password_file, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(password_file, 0o600)
        port = free_port()
        collector = subprocess.Popen(
            [FOOTFALL_BIN, "collector", "serve", "--listen", f"127.0.0.1:{port}", "--db", os.path.join(tmp, "c.db"),
             "--config", config, "--api-key", WRITE_KEY, "--admin-user", "maria",
             "--admin-password-file", password_file, "--issuer-key", os.path.join(tmp, "issuer.json")],
            stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port, collector, "the collector")
            base_url = f"http://127.0.0.1:{port}"
            with Browser.start(width=1280, height=900) as browser:
                scenario(browser, base_url, Device(base_url, os.path.join(tmp, "device")), args.screenshots)
        finally:
            collector.terminate()
            collector.wait()
    print("browser: console scenario passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
