"""The SSRF guard and the bounded fetcher against a real local server with hostile routes."""

from __future__ import annotations

import time

import pytest

from idolguard.capture.errors import CaptureRefused, LimitExceeded
from idolguard.capture.fetch import Budget, SafeFetcher, decode_body
from idolguard.capture.netpolicy import NetPolicy, forbidden_reason
from tests.capture.server import Site

LOCAL = ["127.0.0.1/32"]


def fetcher(allow: list[str] = LOCAL, *, resolver=None, timeout_s: float = 20, total: int = 64 << 20, **kw):  # type: ignore[no-untyped-def]
    policy = NetPolicy(allow, resolver=resolver) if resolver else NetPolicy(allow)
    return SafeFetcher(policy, Budget(total, timeout_s), **kw)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "224.0.0.1",  # multicast
        "0.0.0.0",
        "::1",
        "fd00::1",  # ULA
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert NetPolicy([]).ip_problem(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    import ipaddress

    assert forbidden_reason(ipaddress.ip_address(address)) is None
    assert NetPolicy([]).ip_problem(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://2130706433/",  # decimal 127.0.0.1
        "http://0x7f.1/",  # hex + short form
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_odd_spellings_of_internal_hosts_are_refused(url: str) -> None:
    with pytest.raises(CaptureRefused, match="refused"):
        NetPolicy([]).check_url(url)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/", "gopher://example.com/", "javascript:alert(1)", "data:,x"],
)
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(CaptureRefused, match="only http and https"):
        NetPolicy([]).check_url(url)


def test_credentials_and_control_characters_are_refused() -> None:
    with pytest.raises(CaptureRefused, match="credentials"):
        NetPolicy([]).check_url("http://user:pw@example.com/")
    with pytest.raises(CaptureRefused, match="control"):
        NetPolicy([]).check_url("http://example.com/\r\nHost: evil")


def test_dns_names_resolving_to_private_addresses_are_refused() -> None:
    # A public-looking name whose DNS answer points inside (or mixes inside and outside addresses).
    answers = {"evil.example": ["10.0.0.7"], "mixed.example": ["93.184.216.34", "192.168.0.1"]}
    policy = NetPolicy([], resolver=lambda host, port: answers[host])
    with pytest.raises(CaptureRefused, match="resolves to 10.0.0.7, a private address"):
        policy.check_url("https://evil.example/post")
    with pytest.raises(CaptureRefused, match="192.168.0.1"):
        policy.check_url("https://mixed.example/post")


def test_allowlist_entries_by_cidr_ip_and_name() -> None:
    policy = NetPolicy(["127.0.0.1/32", "10.9.0.0/16", "Intranet.Example"], resolver=lambda h, p: ["10.1.1.1"])
    assert policy.check_url("http://127.0.0.1:8080/").ips == ["127.0.0.1"]
    assert policy.check_url("http://10.9.3.4/").ips == ["10.9.3.4"]
    assert policy.check_url("http://intranet.example/").ips == ["10.1.1.1"]
    with pytest.raises(CaptureRefused):
        policy.check_url("http://127.0.0.2/")  # only the /32 was allowed
    with pytest.raises(CaptureRefused):
        policy.check_url("http://10.8.0.1/")


def test_local_server_refused_without_allowlist(site: Site) -> None:
    before = site.count("/post/")
    with pytest.raises(CaptureRefused, match="loopback"):
        fetcher([]).request(f"{site.base}/post/1", max_bytes=1 << 20)
    assert site.count("/post/") == before  # refused before connecting


def test_plain_fetch_records_exchange(site: Site) -> None:
    seen = []
    f = fetcher()
    f.observers.append(seen.append)
    result = f.get(f"{site.base}/post/1", max_bytes=1 << 20)
    assert result.error is None and result.final is not None
    assert result.final.status == 200
    assert result.final.server_ip == "127.0.0.1"
    assert b"og:image" in result.final.body
    assert seen == result.exchanges
    assert ("Host", site.base.removeprefix("http://")) in result.final.request_headers


def test_redirect_chain_is_recorded(site: Site) -> None:
    result = fetcher().get(f"{site.base}/r/1", max_bytes=1 << 20)
    assert result.error is None
    assert [e.status for e in result.exchanges] == [302, 301, 200]
    assert result.final_url == f"{site.base}/post/1"


def test_redirect_to_internal_address_is_refused(site: Site) -> None:
    before = site.count("internal:")
    result = fetcher().get(f"{site.base}/to-internal", max_bytes=1 << 20)
    assert result.refused and "redirect refused" in (result.error or "")
    assert [e.status for e in result.exchanges] == [302]  # the redirect itself is kept as evidence
    assert site.count("internal:") == before


def test_redirect_to_other_scheme_is_refused(site: Site) -> None:
    result = fetcher().get(f"{site.base}/to-file", max_bytes=1 << 20)
    assert result.refused and "only http and https" in (result.error or "")


def test_dns_rebinding_cannot_switch_the_connection(site: Site) -> None:
    """The name is resolved once; a second (rebound) answer pointing inside is never used for the connection."""
    port = int(site.base.rsplit(":", 1)[1])
    answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])
    calls = []

    def rebinding(host: str, p: int) -> list[str]:
        calls.append(host)
        return next(answers)

    before = site.count("internal:")
    exchange = fetcher(["127.0.0.1/32"], resolver=rebinding).request(
        f"http://rebind.example:{port}/post/1", max_bytes=1 << 20
    )
    assert exchange.status == 200 and exchange.server_ip == "127.0.0.1"
    assert calls == ["rebind.example"]
    assert site.count("internal:") == before
    # And when the rebound answer is what the check sees, the request is refused outright.
    with pytest.raises(CaptureRefused, match="127.0.0.2"):
        fetcher(["127.0.0.1/32"], resolver=lambda h, p: ["127.0.0.2"]).request(
            f"http://rebind.example:{port}/post/1", max_bytes=1 << 20
        )


def test_redirect_loop_and_long_chains_stop(site: Site) -> None:
    loop = fetcher().get(f"{site.base}/loop/a", max_bytes=1 << 20)
    assert "redirect loop" in (loop.error or "")
    assert len(loop.exchanges) == 2
    chain = fetcher(max_redirects=5).get(f"{site.base}/chain/0", max_bytes=1 << 20)
    assert "too many redirects (limit 5)" in (chain.error or "")
    assert len(chain.exchanges) == 6


def test_slow_loris_body_hits_the_deadline(site: Site) -> None:
    started = time.monotonic()
    exchange = fetcher(timeout_s=3.0).request(f"{site.base}/slow", max_bytes=1 << 20)
    assert time.monotonic() - started < 15  # the server would drip for a minute
    assert exchange.truncated and "time limit" in (exchange.error or "")
    assert exchange.body.startswith(b"<p>.")  # what arrived before the limit is kept


def test_stalled_response_hits_the_deadline(site: Site) -> None:
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="time limit"):
        fetcher(timeout_s=1.0).request(f"{site.base}/stall", max_bytes=1 << 20)
    assert time.monotonic() - started < 5


def test_stalled_response_is_a_time_limit_even_when_the_watchdog_runs_late(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a loaded machine the watchdog thread can fire after the socket's own timeout: same clear error."""
    from idolguard.capture import fetch as fetch_module

    original = fetch_module._Watchdog.__init__

    def late(self: object, conn: object, seconds: float, limit_s: float) -> None:
        original(self, conn, seconds + 3.0, limit_s)  # type: ignore[arg-type]

    monkeypatch.setattr(fetch_module._Watchdog, "__init__", late)
    with pytest.raises(LimitExceeded, match="time limit"):
        fetcher(timeout_s=1.0).request(f"{site.base}/stall", max_bytes=1 << 20)


def test_gzip_bomb_is_capped(site: Site) -> None:
    exchange = fetcher().request(f"{site.base}/bomb", max_bytes=1 << 20)
    assert exchange.status == 200 and exchange.error is None  # the compressed body itself is small
    with pytest.raises(LimitExceeded, match="compression bomb"):
        decode_body(exchange, 8 << 20)


def test_gzip_body_is_decoded(site: Site) -> None:
    exchange = fetcher().request(f"{site.base}/gzipped", max_bytes=1 << 20)
    assert exchange.body[:2] == b"\x1f\x8b"  # stored as received
    assert b"og:image" in decode_body(exchange, 1 << 20)


def test_huge_html_is_truncated_not_lost(site: Site) -> None:
    exchange = fetcher().request(f"{site.base}/huge", max_bytes=1 << 20)
    assert exchange.truncated and "per-file limit" in (exchange.error or "")
    exchange = fetcher().request(f"{site.base}/huge", max_bytes=8 << 20)
    assert exchange.error is None and len(exchange.body) > 6 << 20


def test_total_budget_is_enforced(site: Site) -> None:
    f = fetcher(total=500_000)
    first = f.request(f"{site.base}/huge", max_bytes=8 << 20)
    assert first.truncated and "total download limit" in (first.error or "")
    assert len(first.body) <= 500_000


def test_self_signed_https_is_captured_as_untrusted(site: Site) -> None:
    exchange = fetcher().request(f"{site.https_base}/post/1", max_bytes=1 << 20)
    assert exchange.status == 200
    tls = exchange.tls
    assert tls is not None and tls["trusted"] is False
    assert "self-signed" in (tls["verify_error"] or "") or "certificate" in (tls["verify_error"] or "")
    assert tls["chain"] and tls["chain"][0]["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert len(tls["chain"][0]["sha256"]) == 64
    assert "idolguard-test-self-signed" in tls["chain"][0]["subject"]


def test_international_names_and_paths(site: Site) -> None:
    """IDN hosts are resolved and sent as punycode; non-ASCII paths are percent-encoded, not a crash."""
    port = int(site.base.rsplit(":", 1)[1])
    asked = []

    def resolver(host: str, p: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    exchange = fetcher(resolver=resolver).request(f"http://아이돌.example:{port}/post/한글?q=팬", max_bytes=1 << 20)
    punycode = "아이돌.example".encode("idna").decode("ascii")
    assert asked == [punycode] and punycode.startswith("xn--")
    assert exchange.status == 200
    assert ("Host", f"{punycode}:{port}") in exchange.request_headers
    assert site.hits[-1] == "/post/%ED%95%9C%EA%B8%80?q=%ED%8C%AC"


def test_browser_cannot_connect_outside_interception(site: Site, pool) -> None:  # type: ignore[no-untyped-def]
    """The second wall: with no route handler at all, Chromium still reaches nothing (dead proxy, no DNS)."""
    before = site.count("internal:")
    context = pool.browser().new_context()
    try:
        page = context.new_page()
        for url in (f"{site.internal}/direct", f"{site.base}/post/direct", "http://localhost:1/"):
            with pytest.raises(Exception, match="ERR_"):
                page.goto(url, timeout=10_000)
    finally:
        context.close()
    assert site.count("internal:") == before
    assert site.count("/post/direct") == 0


def test_header_flood_is_a_clear_error(site: Site) -> None:
    from idolguard.capture.errors import CaptureError

    with pytest.raises(CaptureError, match="more than 100 headers"):
        fetcher().request(f"{site.base}/many-headers", max_bytes=1 << 20)


def test_slow_dns_is_cut_off() -> None:
    from idolguard.capture.netpolicy import with_timeout

    def stuck(host: str, port: int) -> list[str]:
        time.sleep(3)
        return ["93.184.216.34"]

    started = time.monotonic()
    with pytest.raises(CaptureRefused, match="DNS lookup of 'slow.example' took longer than 0.3 s"):
        NetPolicy([], resolver=with_timeout(stuck, 0.3)).check_url("https://slow.example/")
    assert time.monotonic() - started < 2
    assert NetPolicy([], resolver=with_timeout(lambda h, p: ["8.8.8.8"], 1)).check_url("http://x.example/").ips == [
        "8.8.8.8"
    ]


def test_header_injection_is_refused(site: Site) -> None:
    with pytest.raises(CaptureRefused, match="invalid request"):
        fetcher().request(f"{site.base}/post/1", headers={"Referer": "x\r\nX-Evil: 1"}, max_bytes=1 << 20)
