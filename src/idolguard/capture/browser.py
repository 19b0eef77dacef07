"""Full-page screenshot and PDF print of a captured page in headless Chromium (system package, via Playwright).

Chromium never talks to the network itself. Every request it makes (page, assets, iframes, popups, XHR,
downloads) is intercepted with ``BrowserContext.route`` and answered by the capture's SSRF-checked fetcher,
so the browser sees exactly the bytes that are archived and hashed, and a page's script cannot reach an
internal address. As a second wall, Chromium is started with a dead proxy (a bound, non-listening local
port, with loopback not bypassed), host resolution disabled and the usual background services off, so a
request that ever escaped interception could not connect anywhere. WebSockets are closed, service workers
blocked, popups closed and downloads refused.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idolguard.capture.errors import CaptureError, CaptureRefused
from idolguard.errors import ErrorCode

# (status, headers, body or a file holding it) for the browser, or an exception from the fetcher.
BrowserFetch = Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, dict[str, str], bytes | Path]]

QUIET_FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--disable-gpu",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--metrics-recording-only",
    "--dns-prefetch-disable",
    "--no-pings",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,"
    "NetworkTimeServiceQuerying,CertificateTransparencyComponentUpdater,DialMediaRouteProvider,"
    "InterestFeedContentSuggestions,PrivacySandboxSettings4,SafeBrowsing",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-bypass-list=<-loopback>",
    "--disable-dev-shm-usage",
    "--mute-audio",
]
VIEWPORT = {"width": 1280, "height": 900}
# The problems ``render`` reports as text (stored as evidence, in English), each with the code that says it
# for people (``coded_text.recognise``); any other problem is ``capture.browser``.
RENDER_FORMS: tuple[tuple[str, str], ...] = (
    (str(ErrorCode.CAPTURE_PAGE_SLOW), "page did not finish loading within {seconds} s; rendered as it was"),
    (str(ErrorCode.CAPTURE_SCREENSHOT_CUT), "page is {height} px tall; screenshot cut at {limit} px"),
)


@dataclass
class RenderResult:
    screenshot: bytes | None = None
    pdf: bytes | None = None
    title: str | None = None
    requests: int = 0
    blocked: list[dict[str, str]] = field(default_factory=list)  # requests refused by the SSRF guard / limits
    errors: list[str] = field(default_factory=list)
    popups_closed: int = 0
    downloads_refused: int = 0


class BrowserPool:
    """One Chromium for a whole command (launching is the slow part); each URL gets a fresh context."""

    def __init__(self, chromium_path: str) -> None:
        self.chromium_path = chromium_path
        self._playwright: Any = None
        self._browser: Any = None
        self._sinkhole: socket.socket | None = None

    def unavailable_reason(self) -> str | None:
        if not os.access(self.chromium_path, os.X_OK):
            return f"Chromium not found at {self.chromium_path} (run scripts/system-deps.sh or install 'chromium')"
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as exc:
            return f"playwright is not installed: {exc}"
        return None

    @property
    def version(self) -> str | None:
        return self._browser.version if self._browser is not None else None

    def browser(self) -> Any:
        if self._browser is not None and not self._browser.is_connected():
            self.close()  # Chromium died (crash, OOM kill): start a fresh one for the next URL
        if self._browser is not None:
            return self._browser
        reason = self.unavailable_reason()
        if reason:
            raise CaptureError(reason)
        from playwright.sync_api import sync_playwright

        # A bound but never-listening port: anything sent to this "proxy" is refused at once.
        self._sinkhole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sinkhole.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{self._sinkhole.getsockname()[1]}"
        args = [*QUIET_FLAGS, f"--proxy-server={dead_proxy}"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
        os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=self.chromium_path, headless=True, args=args, timeout=60_000
            )
        except Exception as exc:  # noqa: BLE001 - Playwright raises its own Error type
            self.close()
            raise CaptureError(f"cannot start Chromium: {exc}") from exc
        return self._browser

    def close(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception:  # noqa: BLE001 - already gone
                pass
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None
        if self._sinkhole is not None:
            self._sinkhole.close()
            self._sinkhole = None

    def __enter__(self) -> BrowserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render(
    pool: BrowserPool,
    url: str,
    fetch: BrowserFetch,
    *,
    timeout_s: float,
    max_requests: int,
    user_agent: str,
    max_height: int,
) -> RenderResult:
    """Load ``url`` with every request answered by ``fetch``; screenshot and print it, whatever state it is in."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    result = RenderResult()
    deadline = time.monotonic() + timeout_s

    def remaining_ms() -> float:
        return max(1000.0, (deadline - time.monotonic()) * 1000)

    browser = pool.browser()
    context = browser.new_context(
        viewport=VIEWPORT,
        user_agent=user_agent,
        accept_downloads=False,
        service_workers="block",
        java_script_enabled=True,
        ignore_https_errors=False,
    )
    try:

        def on_route(route: Any, request: Any) -> None:
            result.requests += 1
            target = request.url
            if result.requests > max_requests:
                result.blocked.append({"url": target, "reason": f"more than {max_requests} browser requests"})
                route.abort("blockedbyclient")
                return
            left = deadline - time.monotonic()
            if left <= 0:  # past the browser's time: answer at once so the page settles and can be shot
                result.blocked.append({"url": target, "reason": f"browser time limit of {timeout_s:g} s reached"})
                route.abort("timedout")
                return
            seconds = min(max(0.5, left), timeout_s)
            try:
                status, headers, body = fetch(
                    request.method, target, dict(request.headers), request.post_data_buffer, seconds
                )
            except CaptureRefused as exc:
                result.blocked.append({"url": target, "reason": str(exc)})
                route.abort("blockedbyclient")
                return
            except CaptureError as exc:
                result.errors.append(f"{target}: {exc}")
                route.abort("failed")
                return
            if isinstance(body, Path):
                route.fulfill(status=status, headers=headers, path=str(body))
            else:
                route.fulfill(status=status, headers=headers, body=body)

        def on_websocket(ws: Any) -> None:
            result.blocked.append({"url": ws.url, "reason": "WebSockets are not captured"})
            ws.close()

        def on_page(page: Any) -> None:
            if page is not main:
                result.popups_closed += 1
                page.close()

        def on_download(download: Any) -> None:
            result.downloads_refused += 1
            download.cancel()

        context.route("**/*", on_route)
        context.route_web_socket("**/*", on_websocket)
        main = context.new_page()
        context.on("page", on_page)
        main.on("download", on_download)
        main.on("dialog", lambda dialog: dialog.dismiss())
        try:
            main.goto(url, wait_until="load", timeout=remaining_ms())
        except PlaywrightTimeout:
            result.errors.append(f"page did not finish loading within {timeout_s:g} s; rendered as it was")
        except PlaywrightError as exc:
            result.errors.append(f"browser navigation failed: {_first_line(exc)}")
        try:
            box = main.locator("html").bounding_box(timeout=min(5000.0, remaining_ms()))
            height = int(box["height"]) if box else VIEWPORT["height"]
            if height > max_height:
                result.errors.append(f"page is {height} px tall; screenshot cut at {max_height} px")
                clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": max_height}
                result.screenshot = main.screenshot(full_page=True, clip=clip, timeout=remaining_ms())
            else:
                result.screenshot = main.screenshot(full_page=True, timeout=remaining_ms())
        except PlaywrightError as exc:
            result.errors.append(f"screenshot failed: {_first_line(exc)}")
        if result.screenshot is not None:  # the renderer answered, so printing will not hang
            try:
                main.emulate_media(media="screen")
                result.pdf = main.pdf(print_background=True, width="1280px")
            except PlaywrightError as exc:
                result.errors.append(f"PDF print failed: {_first_line(exc)}")
            try:
                result.title = main.title()
            except PlaywrightError:
                pass
    finally:
        try:
            context.close()
        except Exception:  # noqa: BLE001 - the context may already be gone with a crashed renderer
            pass
    return result


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
