"""Link canonicalisation (shared by portal de-duplication and monitoring) and the proof-of-work check."""

from __future__ import annotations

import hashlib

import pytest

from idolguard.capture.links import LinkError, canonical_link
from idolguard.portal import challenge


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("https://twitter.com/a/status/1?s=20&t=abc", "https://x.com/a/status/1"),
        ("https://mobile.x.com/a/status/1/", "https://x.com/a/status/1"),
        ("HTTPS://WWW.Instagram.com/p/Cx1/?igsh=zz&utm_medium=copy_link", "https://www.instagram.com/p/Cx1"),
        ("https://m.youtube.com/watch?v=abc&feature=share&t=42", "https://www.youtube.com/watch?t=42&v=abc"),
        ("https://youtu.be/abc?si=x", "https://www.youtube.com/watch?v=abc"),
        ("https://www.youtube.com/shorts/xyz", "https://www.youtube.com/watch?v=xyz"),
        ("https://telegram.me/s/chan/5", "https://t.me/chan/5"),
        ("https://m.blog.naver.com/id/223?fbclid=1", "https://blog.naver.com/id/223"),
        ("http://example.org:80/a#frag", "http://example.org/a"),
        ("https://example.org:8443/%7Euser/a%20b", "https://example.org:8443/~user/a%20b"),
        ("https://例え.jp/パス", "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"),
        ("https://example.org/?b=2&a=1&gclid=x", "https://example.org/?a=1&b=2"),
    ],
)
def test_canonical_forms(raw: str, canonical: str) -> None:
    assert canonical_link(raw).url == canonical


def test_short_links_are_flagged_not_followed() -> None:
    link = canonical_link("https://t.co/AbC123")
    assert link.short_link and link.url == "https://t.co/AbC123"
    assert not canonical_link("https://x.com/a").short_link


def test_allow_list_admits_a_local_test_site_only() -> None:
    with pytest.raises(LinkError):
        canonical_link("http://127.0.0.1:8000/x")
    assert canonical_link("http://127.0.0.1:8000/x", allow_hosts=frozenset({"127.0.0.1/32"})).url
    with pytest.raises(LinkError):
        canonical_link("http://127.0.0.2:8000/x", allow_hosts=frozenset({"127.0.0.1/32"}))


def test_challenge_round_trip_and_documented_algorithm() -> None:
    secret = b"s" * 32
    token = challenge.issue(secret, 10)
    solution = challenge.solve(token, 10)
    digest = hashlib.sha256(f"{token}:{solution}".encode()).digest()
    assert challenge.leading_zero_bits(digest) >= 10  # exactly what docs/PORTAL.md tells client authors
    assert challenge.verify(secret, {"token": token, "solution": solution}, 10, 600).nonce
    with pytest.raises(challenge.ChallengeError):
        challenge.verify(secret, {"token": token + "0", "solution": solution}, 10, 600)
    assert challenge.leading_zero_bits(b"\x00\x0f" + b"\xff" * 30) == 12
