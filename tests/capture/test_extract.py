"""Post context and media links from real-world-shaped HTML (no network)."""

from __future__ import annotations

from idolguard.capture.extract import decode_html, parse_page, platform_for


def test_jsonld_graph_opengraph_and_tags() -> None:
    html = """<html><head><title> A   post </title>
    <meta property="og:image" content="https://cdn.example/full.jpg">
    <meta property="og:video:secure_url" content="https://cdn.example/v.mp4">
    <script type="application/ld+json">{"@graph": [{"@type": "WebPage"},
      {"@type": "VideoObject", "contentUrl": "https://cdn.example/ld.mp4", "uploadDate": "2026-01-02T03:04:05Z",
       "author": {"alternateName": "@someone"}, "description": "caption here"}]}</script>
    <script type="application/ld+json">{not json</script>
    </head><body>
    <img srcset="/s.jpg 1x, /l.jpg 2x"><img src="data:image/png;base64,AAAA"><img src="/full.jpg#frag">
    <video src="/inline.webm" poster="/poster.jpg"></video><source src="/loose.mp3">
    <p>unclosed <b>markup
    """
    info = parse_page(html, "https://www.instagram.com/p/abc/")
    assert info.title == "A post"
    assert info.context["platform"] == "instagram"
    assert info.context["author_handle"] == "@someone"
    assert info.context["post_time"] == "2026-01-02T03:04:05Z"
    assert info.context["caption"] == "caption here"
    urls = [(m.url, m.via) for m in info.media]
    assert urls[:2] == [("https://cdn.example/v.mp4", "og:video"), ("https://cdn.example/full.jpg", "og:image")]
    assert ("https://cdn.example/ld.mp4", "json-ld") in urls
    assert ("https://www.instagram.com/l.jpg", "img") in urls  # largest srcset candidate
    assert ("https://www.instagram.com/full.jpg", "img") in urls  # fragment dropped
    assert ("https://www.instagram.com/inline.webm", "video") in urls
    assert ("https://www.instagram.com/poster.jpg", "video-poster") in urls
    assert not any(u.startswith("data:") for u, _ in urls)
    assert len({u for u, _ in urls}) == len(urls)


def test_media_cap_and_platform_hosts() -> None:
    html = "".join(f'<img src="/{n}.png">' for n in range(50))
    assert len(parse_page(html, "https://x.com/a/status/1", max_media=7).media) == 7
    assert platform_for("https://mobile.twitter.com/a") == "x"
    assert platform_for("https://evil-x.com/a") is None


def test_charset_detection() -> None:
    korean = "<html><head><meta charset='euc-kr'><title>아이돌</title></head></html>"
    assert "아이돌" in decode_html(korean.encode("euc-kr"), None)
    assert "아이돌" in decode_html("아이돌".encode(), "text/html; charset=UTF-8")
    assert decode_html(b"\xff\xfe bad", "text/html; charset=nonsense").startswith("\ufffd")
