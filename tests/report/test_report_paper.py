"""`subliminal-stats demo` renders the paper report; headless Chromium opens it offline.

The browser check talks to Chromium over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: fd 3 in, fd 4 out, NUL-terminated JSON), so it
needs no websocket library. It records every network request and console
message of the page and saves a screenshot to ``tests/artifacts/``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from subliminal_stats.cli import main

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _can_isolate_network() -> bool:
    """True when `unshare -n` works here (root on Linux): a process without any network."""
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def paper_html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    if _can_isolate_network():
        # As `make demo` runs it, in a network namespace with no interface but loopback (down):
        # any attempt to fetch something would fail the render.
        cli = Path(sys.executable).with_name("subliminal-stats")
        done = subprocess.run(["unshare", "-n", str(cli), "demo", "--out", str(out)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        printed = done.stdout
    else:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(["demo", "--out", str(out)]) == 0
        printed = buffer.getvalue()
    # `make demo` shows the user where the report is: the path is the printed line.
    assert printed.strip() == str(out / "paper.html")
    return out / "paper.html"


def test_demo_report_holds_figures_and_tables(paper_html):
    text = paper_html.read_text(encoding="utf-8")
    # Published Fig. 3 and Fig. 8, the calibration plot, plus one figure per bundled run section.
    assert text.count("<svg") >= 3
    assert text.count("<table") >= 5
    assert "<script" not in text.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text, re.I)
    # The recomputation from the published owl interval: SD = 0.0295 · √3 / t(0.975, 2) = 1.19 pp.
    assert "between-seed SD of 1.19 percentage points" in text
    for trait in ("dolphin", "eagle", "elephant", "owl", "wolf", "cherry", "maple", "oak", "sequoia", "willow"):
        assert f"<td>{trait}</td>" in text
    # Published treated − control for the owl: .619 − .130 = 48.9 pp.
    assert '<td class="num">48.9</td>' in text
    # The published misalignment figures (data/paper/misalignment.csv): 9.4 % [7.7, 11.0] vs 0.2–1.0 %.
    assert "<td class=\"num\">9.4 [7.7, 11.0]</td>" in text
    assert "answer misaligned 9.4 % of the time [7.7, 11.0], against 0.2–1.0 %" in text
    # Sections without bundled data say so instead of failing.
    runs = ROOT / "data" / "runs"
    if not any(runs.glob("mlp*/responses.parquet")):
        assert "The MLP runs are not yet bundled" in text
    else:  # the bundled MLP runs are analysed: accuracy table and the planned comparisons
        assert "accuracy % [95 % CI]" in text and "aux_same_init − aux_diff_init" in text
    if (runs / "owl_numbers_local" / "responses.parquet").exists():
        # The local SmolLM2 run: sampled answers, the probe and the detectable differences.
        assert "owl_numbers_local: probability probe per condition" in text
        assert "probe % [95 % CI]" in text
        assert "owl_numbers_local, mean prob:</em> with 3 seeds per arm" in text
        assert "smallest treated − control difference this design detects" in text


# --- headless Chromium over the DevTools protocol ----------------------------------------


def _above_ten(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class DevTools:
    """A minimal DevTools-protocol client over Chromium's ``--remote-debugging-pipe``."""

    def __init__(self, profile: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Move the child's ends above fd 10 so that dup2 onto 3 and 4 cannot clobber them.
        to_browser_r = _above_ten(to_browser_r)
        from_browser_w = _above_ten(from_browser_w)

        def wire_pipes():  # runs in the child: Chromium reads fd 3, writes fd 4
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.process = subprocess.Popen(
            [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
             "--window-size=1100,1400", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire_pipes, close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, *, timeout: float = 30.0) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self) -> str:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - the browser may close the pipe first
            pass
        try:
            _, stderr = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        os.close(self._to_browser)
        os.close(self._from_browser)
        return stderr.decode(errors="replace")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless check needs Debian's chromium (/usr/bin/chromium)")
def test_chromium_opens_the_report_offline_without_console_errors(paper_html, tmp_path):
    browser = DevTools(tmp_path / "profile")
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": 1100, "height": 1400, "deviceScaleFactor": 1, "mobile": False}, session=session)
        url = paper_html.resolve().as_uri()
        browser.send("Page.navigate", {"url": url}, session=session)
        browser.wait_for("Page.loadEventFired")
        svg_count = browser.send("Runtime.evaluate", {
            "expression": "document.querySelectorAll('svg').length", "returnByValue": True,
        }, session=session)["result"]["value"]
        width = browser.send("Runtime.evaluate", {
            "expression": "document.querySelector('figure.chart svg').getBoundingClientRect().width",
            "returnByValue": True,
        }, session=session)["result"]["value"]
        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                            session=session)
    finally:
        browser.close()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "paper_report.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    requests = [e["params"]["request"]["url"] for e in browser.events
                if e.get("method") == "Network.requestWillBeSent"]
    assert requests, "the page load itself should be recorded"
    assert all(u == url or u.startswith("data:") for u in requests), requests
    console_errors = [e["params"] for e in browser.events if e.get("method") == "Runtime.consoleAPICalled"
                      and e["params"]["type"] in ("error", "warning", "assert")]
    exceptions = [e["params"] for e in browser.events if e.get("method") == "Runtime.exceptionThrown"]
    log_errors = [e["params"]["entry"] for e in browser.events
                  if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning")]
    failed = [e["params"] for e in browser.events if e.get("method") == "Network.loadingFailed"]
    assert not console_errors and not exceptions and not log_errors and not failed, (
        console_errors, exceptions, log_errors, failed)
    assert svg_count == paper_html.read_text(encoding="utf-8").count("<svg")
    assert width > 100  # the inline SVG figures are laid out, not collapsed


@pytest.mark.skipif(not CHROMIUM.exists(), reason="printing to PDF without Quarto needs /usr/bin/chromium")
def test_fallback_pdf_is_printed_by_chromium(paper_html, tmp_path):
    from subliminal_stats.report.render import html_to_pdf

    pdf = html_to_pdf(paper_html, tmp_path / "paper.pdf")
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 3  # a multi-page report, not an empty page
