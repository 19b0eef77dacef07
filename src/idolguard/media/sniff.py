"""Decide what a file is from its first bytes, never from its name (names lie, especially on re-uploads)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sniffed:
    media_type: str  # image|video|other
    mime: str


_SIGNATURES: list[tuple[int, bytes, str, str]] = [
    (0, b"\xff\xd8\xff", "image", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image", "image/png"),
    (0, b"GIF87a", "image", "image/gif"),
    (0, b"GIF89a", "image", "image/gif"),
    (0, b"BM", "image", "image/bmp"),
    (0, b"II*\x00", "image", "image/tiff"),
    (0, b"MM\x00*", "image", "image/tiff"),
    (0, b"\x1aE\xdf\xa3", "video", "video/webm"),  # Matroska/WebM
    (0, b"FLV", "video", "video/x-flv"),
    (0, b"PK\x03\x04", "other", "application/zip"),
    (0, b"PK\x05\x06", "other", "application/zip"),
    (0, b"%PDF", "other", "application/pdf"),
]

_ISO_BRANDS_IMAGE = {b"heic", b"heix", b"heif", b"mif1", b"msf1", b"avif", b"avis"}


def sniff_bytes(head: bytes) -> Sniffed:
    if len(head) >= 12 and head[:4] == b"RIFF":
        kind = head[8:12]
        if kind == b"WEBP":
            return Sniffed("image", "image/webp")
        if kind == b"AVI ":
            return Sniffed("video", "video/x-msvideo")
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _ISO_BRANDS_IMAGE:
            return Sniffed("image", "image/heif" if brand != b"avif" else "image/avif")
        if brand.startswith(b"qt"):
            return Sniffed("video", "video/quicktime")
        return Sniffed("video", "video/mp4")
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return Sniffed("video", "video/mp2t")  # MPEG transport stream: a sync byte every 188 bytes
    for offset, magic, media_type, mime in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return Sniffed(media_type, mime)
    if head[:4] == b"\x00\x00\x01\xba" or head[:4] == b"\x00\x00\x01\xb3":
        return Sniffed("video", "video/mpeg")
    return Sniffed("other", "application/octet-stream")


def sniff_file(path: Path) -> Sniffed:
    with open(path, "rb") as handle:
        return sniff_bytes(handle.read(512))


def is_zip(path: Path) -> bool:
    return sniff_file(path).mime == "application/zip"
