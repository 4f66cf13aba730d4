"""Product photos of many pixels but few bytes (issue 9, item 10): a 154 KB PNG of
6300x6300 pixels took a worker from 274 MB to 816 MB. Photos over the pixel limit are
refused with a clear message; one at the limit is decoded once, shrunk in strips and
never copied at full size, so the worker's peak memory stays bounded."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from catalog import files
from catalog.models import ProductImage
from marketplace.extensions import db
from marketplace.models import OrgKind, Role

from ..catalog_factories import ProductFactory
from ..factories import member_of
from .test_catalog_vendor import files_under, upload, upload_dir

ROOT = Path(__file__).resolve().parents[2]


def flat_png(width: int, height: int, colour: bytes = b"\x20\x80\x40") -> bytes:
    """An RGB PNG of one colour, compressed row by row: a huge image in a few hundred KB,
    made without ever holding its pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    row = b"\x00" + colour * width
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.fixture
def vendor():
    return member_of(OrgKind.COOPERATIVE, Role.STAFF)


@pytest.fixture
def product(vendor):
    return ProductFactory(vendor=vendor.memberships[0].org, name="高州荔枝")


@pytest.mark.parametrize(
    "size",
    [(6300, 6300), (files.MAX_PIXELS // 5000 + 1, 5000)],
    ids=["the-issue's-6300x6300", "one-column-over"],
)
def test_photo_over_the_pixel_limit_is_refused_with_a_clear_message(
    client, auth, vendor, product, app, size
):
    data = flat_png(*size)
    assert len(data) < 1024 * 1024  # small file, many pixels
    auth.login(vendor.email)
    before = files_under(upload_dir(app))
    response = upload(client, product.id, data, "big.png")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"图片像素过多（{size[0]}×{size[1]}）" in page
    assert "像素总数不能超过 5000×5000" in page
    assert db.session.scalar(select(func.count(ProductImage.id))) == 0
    assert files_under(upload_dir(app)) == before


PROBE = textwrap.dedent(
    """
    import io, json, sys
    from flask import Flask
    from flask_babel import Babel
    from PIL import Image
    from catalog.files import store_image

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key))

    app = Flask("probe")
    app.config["UPLOAD_FOLDER"] = sys.argv[2]
    Babel(app)
    data = open(sys.argv[1], "rb").read()
    tiny = io.BytesIO()
    Image.new("RGB", (8, 8)).save(tiny, "PNG")
    with app.app_context():
        store_image(io.BytesIO(tiny.getvalue()))  # plug-ins loaded before measuring
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # peak resident size := current (Linux)
        before = status("VmRSS")
        stored = store_image(io.BytesIO(data))
        grew = status("VmHWM") - before
    print(json.dumps({"grew_kb": grew, "size": [stored.width, stored.height]}))
    """
)


def peak_growth_mb(tmp_path, data: bytes) -> tuple[float, list[int]]:
    """Process ``data`` with ``store_image`` in a fresh interpreter; how far its peak
    resident memory rose (Pillow's pixel buffers are C memory tracemalloc cannot see)."""
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("measuring peak memory needs Linux /proc/self/clear_refs")
    source = tmp_path / "photo"
    source.write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(source), str(tmp_path / "uploads")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["grew_kb"] / 1024, report["size"]


def test_png_at_the_pixel_limit_keeps_memory_bounded(tmp_path):
    width = height = 5000
    assert width * height == files.MAX_PIXELS
    grew, size = peak_growth_mb(tmp_path, flat_png(width, height))
    decoded = width * height * 4 / 2**20  # Pillow holds RGB in 4 bytes a pixel: 95 MB
    # one decoded picture plus a strip and the small result (about 115 MB); the old way,
    # with full-size copies, rose about 330 MB
    assert grew < decoded + 32, f"peak memory rose {grew:.0f} MB"
    assert max(size) == files.LARGE[0]


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path):
    source = tmp_path / "big.jpg"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from PIL import Image; "
            "Image.new('RGB', (5000, 5000), (200, 60, 30)).save(sys.argv[1], 'JPEG')",
            str(source),
        ],
        check=True,
        timeout=120,
    )
    grew, size = peak_growth_mb(tmp_path, source.read_bytes())
    decoded = 5000 * 5000 * 4 / 2**20
    # draft decodes at half scale (about 50 MB in all); the old way rose about 330 MB
    assert grew < decoded * 0.75, f"peak memory rose {grew:.0f} MB"
    assert size == [1600, 1600]


def jpeg_with_orientation(size: tuple[int, int], orientation: int) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_camera_orientation_is_applied(app):
    with app.test_request_context():
        stored = files.store_image(io.BytesIO(jpeg_with_orientation((3600, 1800), 6)))
    assert (stored.width, stored.height) == (800, 1600)  # turned upright, then fitted
    with Image.open(files.folder("images") / stored.thumb_filename) as thumb:
        assert thumb.size == (200, 400)


def test_transparent_and_palette_pngs_keep_their_transparency(app):
    palette = Image.new("P", (3300, 1000), 1)
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    out = io.BytesIO()
    palette.save(out, "PNG", transparency=1)
    with app.test_request_context():
        stored = files.store_image(io.BytesIO(out.getvalue()))
    with Image.open(files.folder("images") / stored.filename) as large:
        assert large.mode == "RGBA" and large.size == (1600, 485)
        assert large.getpixel((10, 10))[3] == 0  # still transparent
