"""Generated test files for attachments (issue 22): a phone photo with GPS, maker notes, a thumbnail and an
orientation; a payslip and an invoice screenshot to read with OCR; a polyglot GIF; a decompression bomb. And the
composer's form as a browser without JavaScript sends it (tests/test_attachments.py, the authorisation matrix)."""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image, ImageDraw, ImageFont

from forum import db

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
MAKER_NOTE = b"MAKERNOTE-SECRET-4242"
MAKE = b"Secretcam Obscura\x00"
GPS_LAT = ((59, 1), (54, 1), (301234, 10000))   # 59° 54' 30.1234" N
GPS_LON = ((10, 1), (45, 1), (123456, 10000))
THUMB_MARK = b"THUMBNAIL-PAYLOAD-7777"


def _ifd(entries: list[tuple[int, int, int, bytes]], start: int, next_ifd: int = 0) -> bytes:
    """One little-endian TIFF IFD at offset `start`: entries (tag, type, count, value bytes)."""
    head = struct.pack("<H", len(entries))
    data = b""
    data_at = start + 2 + 12 * len(entries) + 4
    body = b""
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            body += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            body += struct.pack("<HHII", tag, kind, count, data_at + len(data))
            data += value + (b"\x00" if len(value) % 2 else b"")
    return head + body + struct.pack("<I", next_ifd) + data


def _size(entries) -> int:
    return len(_ifd(entries, 0))


def _rationals(values) -> bytes:
    return b"".join(struct.pack("<II", n, d) for n, d in values)


def exif_block(thumbnail: bytes, orientation: int = 6) -> bytes:
    """EXIF (APP1 payload) with Make, Orientation, an Exif IFD holding a maker note, a GPS IFD, and IFD1 with an
    embedded JPEG thumbnail."""
    exif_entries = [(0x927C, 7, len(MAKER_NOTE), MAKER_NOTE)]
    gps_entries = [(1, 2, 2, b"N\x00"), (2, 5, 3, _rationals(GPS_LAT)), (3, 2, 2, b"E\x00"),
                   (4, 5, 3, _rationals(GPS_LON))]

    def ifd0(exif_at, gps_at):
        return [(0x010F, 2, len(MAKE), MAKE), (0x0112, 3, 1, struct.pack("<H", orientation)),
                (0x8769, 4, 1, struct.pack("<I", exif_at)), (0x8825, 4, 1, struct.pack("<I", gps_at))]

    def ifd1(thumb_at):
        return [(0x0201, 4, 1, struct.pack("<I", thumb_at)), (0x0202, 4, 1, struct.pack("<I", len(thumbnail)))]

    at0 = 8
    at_exif = at0 + _size(ifd0(0, 0))
    at_gps = at_exif + _size(exif_entries)
    at1 = at_gps + _size(gps_entries)
    at_thumb = at1 + _size(ifd1(0))
    tiff = (b"II*\x00" + struct.pack("<I", at0) + _ifd(ifd0(at_exif, at_gps), at0, next_ifd=at1)
            + _ifd(exif_entries, at_exif) + _ifd(gps_entries, at_gps) + _ifd(ifd1(at_thumb), at1) + thumbnail)
    return b"Exif\x00\x00" + tiff


def phone_photo(size=(400, 300), orientation: int = 6, quality: int = 90) -> bytes:
    """A JPEG as a phone writes it: stored sideways with an Orientation tag, with GPS, a maker note, a comment
    and an embedded thumbnail. Its stored top-left corner is red, the rest blue."""
    image = Image.new("RGB", size, (0, 0, 200))
    ImageDraw.Draw(image).rectangle([0, 0, size[0] // 4, size[1] // 4], fill=(230, 0, 0))
    thumb = io.BytesIO()
    Image.new("RGB", (32, 24), (0, 200, 0)).save(thumb, "JPEG", comment=THUMB_MARK)
    plain = io.BytesIO()
    image.save(plain, "JPEG", quality=quality, comment=b"COMMENT-SECRET")
    app1 = exif_block(thumb.getvalue(), orientation)
    segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    data = plain.getvalue()
    return data[:2] + segment + data[2:]


def text_image(lines: list[str], width: int = 900) -> bytes:
    """A screenshot of some lines of text (DejaVu Sans 26 px, black on white), as PNG."""
    font = ImageFont.truetype(FONT, 26)
    image = Image.new("RGB", (width, 40 + 44 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((24, 20 + 44 * n), line, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


FNR = "30108299939"   # a valid fødselsnummer (checked in the test with the detectors' own checksum)


def payslip() -> bytes:
    return text_image(["Lønnsslipp oktober 2026", "Ansatt: Kari Nordmann", f"Fødselsnummer: {FNR}",
                       "Bruttolønn: 52 000,00", "Skattetrekk: 15 600,00", "Utbetalt: 36 400,00"])


def invoice() -> bytes:
    return text_image(["Faktura 10234", "Leverandør: Regnskapshjelp AS", "Org.nr 923 609 016",
                       "KID: 0012345678903", "Forfall: 15.12.2026", "Å betale: 12 500,00"])


def polyglot_gif() -> bytes:
    """A GIF whose header reads as the start of a JavaScript comment (width bytes '/*'), with script after its
    trailer: served raw, a page could load it as a script."""
    image = Image.new("P", (0x2A2F, 1), 0)
    out = io.BytesIO()
    image.save(out, "GIF")
    data = out.getvalue()
    assert data[6:8] == b"/*"
    return data + b"*/=1;alert('polyglot')//"


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A small PNG whose header claims width × height pixels (3.6 gigapixels by default)."""
    out = io.BytesIO()
    Image.new("L", (1, 1), 0).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def photo_8mp() -> bytes:
    """An 8-megapixel phone-like photo (3264 × 2448, noisy so it does not compress to nothing), with EXIF."""
    import random

    rnd = random.Random(22)
    small = Image.frombytes("RGB", (408, 306), bytes(rnd.randrange(256) for _ in range(408 * 306 * 3)))
    image = small.resize((3264, 2448), Image.Resampling.BICUBIC)
    plain = io.BytesIO()
    image.save(plain, "JPEG", quality=90)
    thumb = io.BytesIO()
    Image.new("RGB", (160, 120), (0, 200, 0)).save(thumb, "JPEG")
    app1 = exif_block(thumb.getvalue(), 6)
    data = plain.getvalue()
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]


async def compose(client, topic_id: int, body: str, files: list[tuple[str, bytes, str]], alts: list[str]):
    """The reply form as a browser without JavaScript sends it (multipart, one alt text per file)."""
    page = await client.get(f"/t/{topic_id}", follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await client.post(f"/t/{topic_id}/reply", data={"csrf_token": token, "body": body, "attachment_alt": alts},
                             files=[("attachment", f) for f in files])


def post_id_of(response) -> int:
    assert response.status_code == 303, response.text[:500]
    return int(response.headers["location"].rsplit("/", 1)[1].split("#")[0])


async def files_of(post_id: int) -> list[dict]:
    return await db.fetch_all("SELECT * FROM attachment WHERE post_id = ? ORDER BY id", [post_id])
