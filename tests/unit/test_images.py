"""load_image: every input form and every kind of bad input (generated files, no real data needed)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from faceplane import (
    ImageNotFoundError,
    ImageTooLargeError,
    InvalidArgumentError,
    InvalidImageError,
    load_image,
)


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _gradient(w: int = 40, h: int = 30) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None, None]
    return np.concatenate([np.broadcast_to(x, (h, w, 1)), np.broadcast_to(y, (h, w, 1)),
                           np.full((h, w, 1), 128.0)], axis=2).astype(np.uint8)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("RGB", "PNG"), ("L", "PNG"), ("LA", "PNG"), ("RGBA", "PNG"), ("P", "PNG"), ("1", "PNG"),
     ("CMYK", "JPEG"), ("RGB", "JPEG"), ("L", "JPEG"), ("I;16", "PNG"), ("RGB", "WEBP"), ("RGB", "BMP"),
     ("RGB", "TIFF"), ("F", "TIFF"), ("I", "TIFF"), ("RGB", "GIF")],
)
def test_every_mode_becomes_rgb_uint8(mode: str, fmt: str):
    base = Image.fromarray(_gradient())
    if mode == "I;16":
        im = Image.fromarray(np.asarray(base.convert("L"), np.uint16) * 257)
    elif mode == "F":
        im = Image.fromarray(np.asarray(base.convert("L"), np.float32) / 255.0)
    elif mode == "I":
        im = Image.fromarray(np.asarray(base.convert("L"), np.int32) * 257)
    else:
        im = base.convert(mode)
    out = load_image(_encode(im, fmt))
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8
    grey_ref = np.asarray(base.convert("L"), np.float32)
    if mode in ("L", "LA", "I;16", "F", "I"):
        # grey stays grey, and 16/32-bit data is scaled into 0..255 rather than clipped
        assert np.abs(out[:, :, 0].astype(np.float32) - grey_ref).max() <= 8


def test_transparent_pixels_composite_on_white():
    rgba = np.zeros((4, 4, 4), np.uint8)  # black, fully transparent
    assert (load_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG")) == 255).all()
    assert (load_image(rgba) == 255).all()


def test_exif_orientation_is_applied():
    im = Image.fromarray(_gradient(40, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    out = load_image(_encode(im, "JPEG", exif=exif))
    assert out.shape == (40, 30, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, I am not an image", "not a recognised image format"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a recognised image format|corrupt"),
    ],
)
def test_bad_bytes_raise_clear_errors(data: bytes, message: str):
    with pytest.raises(InvalidImageError, match=message):
        load_image(data)


def test_truncated_jpeg_is_refused():
    good = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)), "JPEG")
    with pytest.raises(InvalidImageError, match="corrupt or truncated"):
        load_image(good[: len(good) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    bomb = _encode(Image.new("L", (5000, 5000)), "PNG")  # tiny file, 25 MP
    assert len(bomb) < 100_000
    with pytest.raises(ImageTooLargeError, match="exceeds the limit"):
        load_image(bomb, max_pixels=10_000_000)


def test_paths(tmp_path):
    with pytest.raises(ImageNotFoundError):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(ImageNotFoundError):
        load_image(tmp_path)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(InvalidImageError, match="empty file"):
        load_image(empty)
    good = tmp_path / "good.png"
    Image.fromarray(_gradient()).save(good)
    assert load_image(str(good)).shape == (30, 40, 3)


@pytest.mark.parametrize(
    ("array", "expect"),
    [
        (np.zeros((5, 6), np.uint8), (5, 6, 3)),
        (np.zeros((5, 6, 1), np.uint8), (5, 6, 3)),
        (np.zeros((5, 6, 4), np.uint8), (5, 6, 3)),
        (np.full((5, 6, 3), 65535, np.uint16), (5, 6, 3)),
        (np.ones((5, 6, 3), np.float32), (5, 6, 3)),
        (np.ones((5, 6), bool), (5, 6, 3)),
    ],
)
def test_arrays(array: np.ndarray, expect: tuple[int, ...]):
    out = load_image(array)
    assert out.shape == expect and out.dtype == np.uint8
    assert out is not array


@pytest.mark.parametrize(
    ("array", "error"),
    [
        (np.zeros((5, 6, 2), np.uint8), InvalidArgumentError),
        (np.zeros((5,), np.uint8), InvalidArgumentError),
        (np.zeros((0, 6, 3), np.uint8), InvalidImageError),
        (np.full((5, 6, 3), 2.0, np.float32), InvalidArgumentError),
        (np.full((5, 6, 3), np.nan, np.float32), InvalidImageError),
        (np.zeros((5, 6, 3), np.complex64), InvalidArgumentError),
    ],
)
def test_bad_arrays(array: np.ndarray, error: type):
    with pytest.raises(error):
        load_image(array)


def test_unsupported_type():
    with pytest.raises(InvalidArgumentError, match="got int"):
        load_image(42)  # type: ignore[arg-type]


def test_callers_array_is_not_modified():
    arr = _gradient()
    before = arr.copy()
    out = load_image(arr)
    out[:] = 0
    assert (arr == before).all()
