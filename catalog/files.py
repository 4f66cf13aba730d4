"""Uploaded files: product photos (verified with Pillow, re-encoded, thumbnailed) and
PDFs (test reports, invoices). Stored under UPLOAD_FOLDER with generated names only.

Only the ``images`` folder is public (``catalog.media_image``); every other folder
(``reports``, ``aftersales``, ``invoices``) is private: its files are sent only by
routes that check who asks."""

from __future__ import annotations

import io
import math
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.errors import ValidationError

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_REPORT_BYTES = 10 * 1024 * 1024
# 25 megapixels (5000x5000, a good camera's full resolution) is far more than a product
# photo needs, and keeps one decoded picture under 100 MB; refused before decoding.
MAX_PIXELS = 25_000_000
IMAGE_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
LARGE = (1600, 1600)
THUMB = (400, 400)
NAME = re.compile(r"^[a-f0-9]{32}(_t)?\.(jpg|png|webp|pdf)$")
MIMETYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
}


@dataclass
class StoredImage:
    filename: str
    thumb_filename: str
    width: int
    height: int


def folder(kind: str) -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_limited(stream, limit: int, message: str) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(message, {"file": message})
    if not data:
        raise ValidationError(_("文件是空的"), {"file": _("文件是空的")})
    return data


def store_image(stream, kind: str = "images") -> StoredImage:
    """Verify the bytes are a JPEG, PNG or WebP image whatever the file is called,
    re-encode it (dropping metadata), and save it and a thumbnail under new names.

    Memory stays bounded by one decoded picture at most: the pixel count is checked
    before decoding, a JPEG is decoded at a reduced scale (``draft``), and anything
    larger than the stored size is shrunk in strips; no full-size copy is ever made."""
    data = _read_limited(stream, MAX_IMAGE_BYTES, _("图片不能超过 5 MB"))
    bad = _("只能上传 JPEG、PNG 或 WebP 格式的图片")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
        if fmt not in IMAGE_FORMATS:
            raise ValidationError(bad, {"file": bad})
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            message = _(
                "图片像素过多（%(w)d×%(h)d）：像素总数不能超过 %(side)d×%(side)d，请缩小后再上传",
                w=image.width,
                h=image.height,
                side=math.isqrt(MAX_PIXELS),
            )
            raise ValidationError(message, {"file": message})
        if fmt == "JPEG":
            image.draft(None, LARGE)  # decode at 1/2, 1/4 or 1/8 scale when that is enough
        image.load()
        picture = _shrink(image, _stored_mode(fmt, image.mode))
        if picture is not image:
            image.close()  # frees the full-size pixels now, not when the request ends
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(bad, {"file": bad}) from None
    picture.thumbnail(LARGE)  # a square box: fitting before turning upright is the same
    ImageOps.exif_transpose(picture, in_place=True)
    ext, _mime = IMAGE_FORMATS[fmt]
    token = secrets.token_hex(16)
    thumb = picture.copy()
    thumb.thumbnail(THUMB)
    target = folder(kind)
    options = {"quality": 85} if fmt in ("JPEG", "WEBP") else {"optimize": True}
    picture.save(target / f"{token}.{ext}", fmt, **options)
    thumb.save(target / f"{token}_t.{ext}", fmt, **options)
    return StoredImage(f"{token}.{ext}", f"{token}_t.{ext}", picture.width, picture.height)


def _stored_mode(fmt: str, mode: str) -> str:
    if fmt == "JPEG":
        return mode if mode in ("RGB", "L") else "RGB"
    return mode if mode in ("RGB", "RGBA", "L", "LA") else "RGBA"


STRIP_PIXELS = 2_000_000


def _shrink(image: Image.Image, mode: str) -> Image.Image:
    """A new ``mode`` image, reduced by the whole factor that keeps it at least as large
    as the stored size. Works one strip of rows at a time, so converting (a palette to
    RGBA) or premultiplying alpha (what ``reduce`` does for RGBA) never copies the whole
    picture. The result carries the original's metadata, for its EXIF orientation."""
    width, height = image.size
    factor = max(1, int(max(width / LARGE[0], height / LARGE[1])))
    if factor == 1 and image.mode == mode:
        return image  # small enough already (a JPEG's draft usually is)
    rows = max(1, STRIP_PIXELS // width // factor) * factor
    result = Image.new(mode, (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        if strip.mode != mode:
            strip = strip.convert(mode)
        if factor > 1:
            strip = strip.reduce(factor)
        result.paste(strip, (0, top // factor))
    result.info = dict(image.info)
    return result


def store_report(stream) -> str:
    """Keep a PDF test report (checked by its signature, not its name)."""
    return store_pdf(
        stream,
        "reports",
        MAX_REPORT_BYTES,
        _("检测报告不能超过 10 MB"),
        _("检测报告必须是 PDF 文件"),
    )


def store_pdf(stream, kind: str, limit: int, too_large: str, not_pdf: str) -> str:
    """Keep a PDF in the ``kind`` folder under a new name, once its first bytes say it
    is one (``%PDF-``, whatever the file is called); returns the name."""
    data = _read_limited(stream, limit, too_large)
    if not data.startswith(b"%PDF-"):
        raise ValidationError(not_pdf, {"file": not_pdf})
    name = f"{secrets.token_hex(16)}.pdf"
    (folder(kind) / name).write_bytes(data)
    return name


def remove(kind: str, *names: str) -> None:
    for name in names:
        if name and NAME.match(name):
            (folder(kind) / name).unlink(missing_ok=True)


def path_for(kind: str, name: str) -> tuple[Path, str] | None:
    """The file and its content type for a stored name; None for anything else."""
    if not NAME.match(name or ""):
        return None
    path = folder(kind) / name
    if not path.is_file():
        return None
    return path, MIMETYPES[name.rsplit(".", 1)[1]]
