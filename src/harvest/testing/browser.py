"""A headless Chromium driven over the DevTools protocol on a pipe, for the browser tests and `make screenshots`.

No browser build of its own and no driver package: the machine's ``chromium`` (Debian's package) runs with
``--remote-debugging-pipe`` and is spoken to in JSON over two file descriptors (3: to the browser, 4: from
it, messages ended by a NUL byte). ``Browser.open(url)`` loads a page at a desktop size and waits for its load
event; ``evaluate`` runs JavaScript in it; ``requests`` lists every URL the page asked for; ``screenshot``
writes a PNG.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

NAMES = ("chromium", "chromium-browser", "google-chrome")
WIDTH, HEIGHT = 1280, 800  # the first screen


def find() -> str | None:
    """The browser on PATH (or ``HARVEST_CHROMIUM``), or None."""
    chosen = os.environ.get("HARVEST_CHROMIUM")
    if chosen:
        return chosen
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def _as_fds_3_and_4(reading: int, writing: int) -> None:
    """In the child, before exec: the browser's ends of the pipes as fds 3 and 4 (moved out of the way first)."""
    high_r, high_w = fcntl.fcntl(reading, fcntl.F_DUPFD, 10), fcntl.fcntl(writing, fcntl.F_DUPFD, 10)
    os.dup2(high_r, 3)
    os.dup2(high_w, 4)
    os.close(high_r)
    os.close(high_w)


class BrowserError(RuntimeError):
    pass


class Browser:
    def __init__(self, executable: str, timeout: float = 30) -> None:
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="harvest-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the child sees the pipes as fds 3 and 4, as --remote-debugging-pipe expects
        self.process = subprocess.Popen(
            [executable, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={self._profile.name}", f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
            close_fds=False,  # the pipes are close-on-exec; only the copies made as fds 3 and 4 pass
            preexec_fn=lambda: _as_fds_3_and_4(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._id = 0
        self._events: list[dict[str, Any]] = []
        self.session: str | None = None
        self.requested: list[str] = []

    # -- the protocol ----------------------------------------------------------------------------

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise BrowserError("the browser closed its pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method: str, session: bool = True, **params: Any) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            reply = self._read_message()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._note(reply)
        raise BrowserError(f"{method}: no answer in {self.timeout} s")

    def _note(self, event: dict[str, Any]) -> None:
        if event.get("method") == "Network.requestWillBeSent":
            self.requested.append(event["params"]["request"]["url"])
        self._events.append(event)

    def _wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for i, event in enumerate(self._events):
                if event.get("method") == method:
                    del self._events[: i + 1]
                    return event
            self._events.clear()
            self._note(self._read_message())
        raise BrowserError(f"no {method} in {self.timeout} s")

    # -- what the tests use ----------------------------------------------------------------------

    def open(self, url: str) -> Browser:
        """Load ``url`` in a fresh tab at WIDTH x HEIGHT and wait for its load event."""
        if self.session is None:
            target = self.call("Target.createTarget", session=False, url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", session=False, targetId=target, flatten=True)["sessionId"]
            self.call("Page.enable")
            self.call("Network.enable")
            self.call(
                "Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False
            )
        self.requested = []
        self._events.clear()
        self.call("Page.navigate", url=url)
        self._wait_for("Page.loadEventFired")
        return self

    def submit(self, expression: str) -> Browser:
        """Run ``expression`` (one that submits a form or follows a link) and wait for the next page to load."""
        self.requested = []
        self._events.clear()
        self.evaluate(expression)
        self._wait_for("Page.loadEventFired")
        return self

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            width, height = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": min(height, 4000), "scale": 1}
            params["captureBeyondViewport"] = True
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", **params)["data"]))

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close", session=False)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
