"""Turn what users hand us (a path, bytes, a numpy array) into one RGB uint8 array.

Every decode problem becomes an :class:`~faceplane.errors.ImageError` with a one-line reason:
empty files, non-images, corrupt or truncated data and decompression bombs. EXIF orientation
is applied, and every Pillow mode (L, LA, P, RGBA, CMYK, I;16, I, F, 1, YCbCr, ...) is
converted to RGB. Transparent pixels are composited on white so that garbage hidden under an
alpha channel never reaches the detector.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageNotFoundError, ImageTooLargeError, InvalidArgumentError, InvalidImageError

__all__ = ["DEFAULT_MAX_PIXELS", "ImageInput", "encode_jpeg", "load_image"]

#: Default decompression-bomb limit: 64 megapixels (an 8K frame is 33 MP).
DEFAULT_MAX_PIXELS = 64_000_000

#: What the public API accepts as an image.
ImageInput = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray

_RGB = npt.NDArray[np.uint8]


def load_image(source: ImageInput, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> _RGB:
    """Decode ``source`` into an (H, W, 3) uint8 RGB array.

    Args:
        source: a file path, the encoded bytes of an image file, or a numpy array
            (H, W) gray, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA; uint8, uint16, bool,
            or float in [0, 1].
        max_pixels: refuse images with more pixels than this (decompression-bomb guard).

    Returns:
        A new C-contiguous (H, W, 3) uint8 array; the caller's array is never modified.

    Raises:
        ImageNotFoundError: the path does not exist or is not a file.
        InvalidImageError: empty, corrupt, truncated or not an image.
        ImageTooLargeError: more than ``max_pixels`` pixels.
        InvalidArgumentError: an unsupported type, dtype or shape.

    Example:
        >>> load_image(np.zeros((4, 6), np.uint8)).shape
        (4, 6, 3)
    """
    if max_pixels <= 0:
        raise InvalidArgumentError(f"max_pixels must be positive, got {max_pixels}")
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise InvalidImageError("empty image data (0 bytes)")
        return _decode(io.BytesIO(data), "<bytes>", max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ImageNotFoundError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise InvalidImageError(f"{path}: empty file (0 bytes)")
        with path.open("rb") as fh:
            return _decode(fh, str(path), max_pixels)
    raise InvalidArgumentError(
        f"an image must be a path, bytes or a numpy array, got {type(source).__name__}"
    )


def _decode(fh: BinaryIO, name: str, max_pixels: int) -> _RGB:
    # Pillow warns (and later raises) on bombs by its own global limit; we check our own limit
    # on the header before any pixel is decoded, and silence Pillow's warning for the rest.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(fh) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageTooLargeError(
                        f"{name}: {width}x{height} = {width * height} pixels exceeds the limit of {max_pixels}"
                    )
                if width == 0 or height == 0:
                    raise InvalidImageError(f"{name}: image has zero size ({width}x{height})")
                im.load()
                return _to_rgb(ImageOps.exif_transpose(im))
        except UnidentifiedImageError:
            raise InvalidImageError(f"{name}: not a recognised image format") from None
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"{name}: {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            # Pillow reports truncated/corrupt data as OSError (sometimes SyntaxError/ValueError).
            raise InvalidImageError(f"{name}: corrupt or truncated image ({exc})") from None


def _to_rgb(im: Image.Image) -> _RGB:
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        return _from_array(_stretch_to_uint8(arr, mode), None)
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def _stretch_to_uint8(arr: npt.NDArray[np.float64], mode: str) -> npt.NDArray[np.uint8]:
    if mode.startswith("I;16"):
        return (arr / 257.0).round().clip(0, 255).astype(np.uint8)
    if mode == "F" and arr.size and float(np.nanmax(arr)) <= 1.0:
        return (np.nan_to_num(arr) * 255.0).round().clip(0, 255).astype(np.uint8)
    # 32-bit int or float images carry no standard range: scale by the maximum (16-bit if it fits).
    top = 65535.0 if arr.size and float(np.nanmax(arr)) > 255.0 else 255.0
    return (np.nan_to_num(arr) * (255.0 / top)).round().clip(0, 255).astype(np.uint8)


def _from_array(arr: np.ndarray, max_pixels: int | None) -> _RGB:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InvalidArgumentError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4); got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidImageError(f"image array has zero size {arr.shape}")
    if max_pixels is not None and arr.shape[0] * arr.shape[1] > max_pixels:
        raise ImageTooLargeError(f"{arr.shape[1]}x{arr.shape[0]} pixels exceeds the limit of {max_pixels}")
    arr = _to_uint8(arr)
    if arr.ndim == 2:
        return np.ascontiguousarray(np.repeat(arr[:, :, None], 3, axis=2))
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        rgb = arr[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.ascontiguousarray(rgb.round().astype(np.uint8))
    return np.ascontiguousarray(arr, dtype=np.uint8).copy()


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if arr.dtype == np.uint16:
        return (arr.astype(np.float32) / 257.0).round().astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InvalidImageError("image array contains NaN or infinite values")
        if arr.min() < 0.0 or arr.max() > 1.0:
            raise InvalidArgumentError(
                f"a float image array must hold values in [0, 1]; got range [{arr.min():g}, {arr.max():g}]"
            )
        return (arr * 255.0).round().astype(np.uint8)
    raise InvalidArgumentError(f"unsupported image array dtype {arr.dtype}; use uint8, uint16, bool or float")


def encode_jpeg(image: _RGB, quality: int = 85) -> bytes:
    """(H, W, 3) uint8 RGB -> JPEG bytes (snapshots, thumbnails, evidence frames)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
