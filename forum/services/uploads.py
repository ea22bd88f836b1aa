"""What an uploaded file becomes before it is stored: the kind sniffed from its bytes, and a picture drawn anew.

Why every picture is decoded and re-encoded (Pillow) rather than having its metadata stripped: stripping knows
only the blocks it was written for, while a new file written from the pixels holds nothing but the pixels.
EXIF (GPS, maker notes, the embedded thumbnail), XMP, IPTC, ICC profiles and comments are gone by construction;
the orientation is applied to the pixels first, so the picture looks as it did. A GIF that is also a script, or
any bytes appended to a picture, do not survive either.

Why the type comes from the bytes: the client's file name and Content-Type are whatever it chose. SVG (a
document that can run script), HTML and everything else are refused. The pixel count is read from the header
before any pixel is decoded, so a decompression bomb is refused without the memory it asks for.

Plain text files (.txt, .log, .csv) must be UTF-8 without control characters; they are stored as sent and
served as downloads (forum/web/files.py), and their text goes through the post's detectors (moderation).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from forum.errors import N_, FileTooLarge, UnsupportedFile

IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
TEXT_TYPES = {"txt": "text/plain", "log": "text/plain", "csv": "text/csv"}
MAX_GIF_FRAMES = 100
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Processed:
    kind: str          # image, text
    media_type: str
    data: bytes
    width: int | None = None
    height: int | None = None
    text: str | None = None   # a text file's content (for the detectors)


def sniff_image(head: bytes) -> str | None:
    """The picture format the first bytes announce, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def process(data: bytes, filename: str, *, max_bytes: int, max_pixels: int) -> Processed:
    """The file as it will be stored, or UnsupportedFile / FileTooLarge (4xx) with the reason."""
    if len(data) > max_bytes:
        raise FileTooLarge(N_("The file is too large: at most %(mb)s MB each."), mb=_mb(max_bytes))
    if not data:
        raise UnsupportedFile(N_("The file is empty."))
    fmt = sniff_image(data[:16])
    if fmt is not None:
        return _picture(data, fmt, max_pixels)
    return _text_file(data, filename)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:g}"


def _picture(data: bytes, fmt: str, max_pixels: int) -> Processed:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size
            if width * height > max_pixels or width <= 0 or height <= 0:
                raise _too_many_pixels(max_pixels)
            frames = getattr(image, "n_frames", 1)
            if frames > MAX_GIF_FRAMES or width * height * frames > max_pixels * 4:
                raise FileTooLarge(N_("The animation has too many frames."), code="too_many_frames")
            out = _reencode(image, fmt)
        except (FileTooLarge, UnsupportedFile):
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # Pillow's own limit, at open
            raise _too_many_pixels(max_pixels) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, MemoryError):
            raise UnsupportedFile(N_("The picture could not be read. Save it again as PNG or JPEG and attach "
                                     "that."), code="unreadable_image") from None
    return out


def _too_many_pixels(max_pixels: int) -> FileTooLarge:
    return FileTooLarge(N_("The picture has too many pixels: at most %(mp)s megapixels."), code="too_many_pixels",
                        mp=f"{max_pixels / 1_000_000:g}")


def _reencode(image: Image.Image, fmt: str) -> Processed:
    buffer = io.BytesIO()
    if fmt == "GIF" and getattr(image, "n_frames", 1) > 1:
        frames = []
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(_fresh(image.convert("RGBA")))
            durations.append(image.info.get("duration", 100))
        frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                       disposal=2)
        width, height = frames[0].size
    else:
        image.load()
        upright = _fresh(ImageOps.exif_transpose(image))  # orientation into the pixels, then no metadata
        width, height = upright.size
        if fmt == "JPEG":
            pixels = _fresh(upright.convert("L" if upright.mode in ("L", "1") else "RGB"))
            pixels.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=False, exif=b"", icc_profile=None)
        elif fmt == "WEBP":
            pixels = _fresh(upright.convert("RGBA" if "A" in upright.getbands() or upright.mode == "P" else "RGB"))
            pixels.save(buffer, "WEBP", quality=JPEG_QUALITY, exif=b"", icc_profile=None, xmp=b"")
        elif fmt == "GIF":
            _fresh(upright.convert("RGBA")).save(buffer, "GIF")
        else:
            if upright.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
                upright = upright.convert("RGBA")
            _fresh(upright).save(buffer, "PNG", compress_level=6)
    return Processed("image", IMAGE_TYPES[fmt], buffer.getvalue(), width, height)


def _fresh(image: Image.Image) -> Image.Image:
    """The image without its `info` (PNG text chunks, EXIF, XMP, ICC, comments) for an encoder to carry over."""
    image.info = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
    return image


def _text_file(data: bytes, filename: str) -> Processed:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in TEXT_TYPES:
        raise UnsupportedFile()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsupportedFile(N_("A text file must be UTF-8 text."), code="not_utf8") from None
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text) or "\x7f" in text:
        raise UnsupportedFile(N_("A text file must be plain text, without control characters."),
                              code="not_plain_text")
    return Processed("text", TEXT_TYPES[extension], text.encode("utf-8"), text=text)
