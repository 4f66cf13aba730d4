"""Uploaded files: product photos (verified with Pillow, re-encoded, thumbnailed) and
PDF test reports. Stored under UPLOAD_FOLDER with generated names only."""

from __future__ import annotations

import io
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
MAX_PIXELS = 40_000_000  # refuse decompression bombs well before Pillow's own limit
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


def store_image(stream) -> StoredImage:
    """Verify the bytes are a JPEG, PNG or WebP image whatever the file is called,
    re-encode it (dropping metadata), and save it and a thumbnail under new names."""
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
            raise ValidationError(_("图片尺寸过大"), {"file": _("图片尺寸过大")})
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError(bad, {"file": bad}) from None
    image = ImageOps.exif_transpose(image)
    ext, _mime = IMAGE_FORMATS[fmt]
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    token = secrets.token_hex(16)
    large, thumb = image.copy(), image.copy()
    large.thumbnail(LARGE)
    thumb.thumbnail(THUMB)
    target = folder("images")
    options = {"quality": 85} if fmt in ("JPEG", "WEBP") else {"optimize": True}
    large.save(target / f"{token}.{ext}", fmt, **options)
    thumb.save(target / f"{token}_t.{ext}", fmt, **options)
    return StoredImage(f"{token}.{ext}", f"{token}_t.{ext}", large.width, large.height)


def store_report(stream) -> str:
    """Keep a PDF test report (checked by its signature, not its name)."""
    data = _read_limited(stream, MAX_REPORT_BYTES, _("检测报告不能超过 10 MB"))
    if not data.startswith(b"%PDF-"):
        message = _("检测报告必须是 PDF 文件")
        raise ValidationError(message, {"file": message})
    name = f"{secrets.token_hex(16)}.pdf"
    (folder("reports") / name).write_bytes(data)
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
