"""A small W3C WebDriver client over the standard library: starts chromedriver, opens a headless Chromium session
and offers what the console tests need (navigate, fill, click, read text, run a script, screenshot). Each command
waits for the page the previous one loaded (WebDriver's page-load strategy `normal`), so no sleeps are needed."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def _find(names: list[str], env: str) -> str:
    if os.environ.get(env):
        return os.environ[env]
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(f"none of {names} found (set {env}); Debian: apt-get install chromium chromium-driver")


class WebDriverError(Exception):
    pass


class Browser:
    def __init__(self, driver: subprocess.Popen, base: str, session: str):
        self._driver, self._base, self._session = driver, base, session

    @classmethod
    def start(cls, width: int = 1280, height: int = 900) -> "Browser":
        chromium = _find(["chromium", "chromium-browser", "google-chrome"], "CHROMIUM")
        chromedriver = _find(["chromedriver"], "CHROMEDRIVER")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        driver = subprocess.Popen([chromedriver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(400):  # readiness poll of the driver's /status
            try:
                if _call("GET", base + "/status")["value"].get("ready"):
                    break
            except OSError:
                pass
            if driver.poll() is not None:
                raise SystemExit("chromedriver exited at start")
            time.sleep(0.05)
        args = ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                "--no-first-run", "--password-store=basic"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "pageLoadStrategy": "normal",
                                                 "goog:chromeOptions": {"binary": chromium, "args": args}}}}
        try:
            session = _call("POST", base + "/session", caps)["value"]["sessionId"]
        except Exception:
            driver.terminate()
            raise
        return cls(driver, base, session)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        try:
            _call("DELETE", f"{self._base}/session/{self._session}")
        finally:
            self._driver.terminate()
            self._driver.wait()

    def _cmd(self, method: str, path: str, body: dict | None = None):
        return _call(method, f"{self._base}/session/{self._session}{path}", body)["value"]

    def go(self, url: str) -> None:
        self._cmd("POST", "/url", {"url": url})

    def url(self) -> str:
        return self._cmd("GET", "/url")

    def _element(self, css: str) -> str:
        return self._cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def fill(self, css: str, text: str) -> None:
        element = self._element(css)
        self._cmd("POST", f"/element/{element}/clear", {})
        self._cmd("POST", f"/element/{element}/value", {"text": text})

    def click(self, css: str) -> None:
        """Clicks, and when the click submits a form or follows a link, returns once the next page has loaded: the
        old document is marked first, and the new one is the one without the mark."""
        self.execute("window.__footfallOldPage = true")
        self._cmd("POST", f"/element/{self._element(css)}/click", {})
        for _ in range(1200):
            if self.execute("return !window.__footfallOldPage && document.readyState === 'complete'"):
                return
            time.sleep(0.025)
        raise WebDriverError(f"clicking {css} loaded no new page")

    def toggle(self, css: str) -> None:
        """Clicks something that does not load a page (a checkbox)."""
        self._cmd("POST", f"/element/{self._element(css)}/click", {})

    def text(self, css: str) -> str:
        return self._cmd("GET", f"/element/{self._element(css)}/text")

    def execute(self, script: str, *args):
        return self._cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def screenshot(self, path: str) -> None:
        with open(path, "wb") as f:
            f.write(base64.b64decode(self._cmd("GET", "/screenshot")))


def _call(method: str, url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        detail = json.loads(e.read() or b"{}").get("value", {})
        raise WebDriverError(f"{method} {url}: {detail.get('error')}: {detail.get('message', '')[:300]}") from None
