"""dlib's image-pyramid maths, re-implemented in numpy for the MMOD detector port.

Everything here reproduces a specific piece of dlib (``dlib/image_transforms/image_pyramid.h``,
``interpolation.h`` and ``dnn/input.h``), including the sample positions of dlib's SIMD bilinear
resize (float32 x accumulated per 4-column group, float64 y), so that the tensor fed to the
network matches dlib's to float32 rounding; the uint8 upsampling, where dlib truncates and a
rounding difference would move a whole grey level, is reproduced bit for bit:

* :func:`pyramid_up` -- ``dlib::pyramid_up(img, pyramid_down<2>)`` (the ``upsample_num_times`` step);
* :func:`tiled_pyramid_layout` -- ``impl::compute_tiled_image_pyramid_details``;
* :func:`build_input_tensor` -- ``input_rgb_image_pyramid::to_tensor`` (mean-subtracted, /256,
  each level bilinearly resized from the one before it, in float, inside the tensor).

Rectangles are dlib's: inclusive ``(left, top, right, bottom)`` tuples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "ColumnTaps",
    "RowTaps",
    "build_input_tensor",
    "column_taps",
    "pyramid_up",
    "pyramid_up_size",
    "resize_planes_into",
    "resize_rgb_u8",
    "row_taps",
    "tiled_pyramid_layout",
]

Rect = tuple[int, int, int, int]

# dlib's input_image_pyramid stops adding levels below this height (min_height in image_pyramid.h).
_MIN_LEVEL_HEIGHT = 5


@dataclass(frozen=True)
class ColumnTaps:
    """Per output column: the two source columns and weights dlib's SIMD resize uses.

    The first ``n_simd`` columns come from the 4-wide float32 SIMD loop (``lr``/``inv_lr``
    float32); the rest from its scalar tail loop (``lr_tail`` float64, right index clamped).
    """

    left: npt.NDArray[np.intp]
    right: npt.NDArray[np.intp]
    lr: npt.NDArray[np.float32]
    inv_lr: npt.NDArray[np.float32]
    lr_tail: npt.NDArray[np.float64]
    n_simd: int


@dataclass(frozen=True)
class RowTaps:
    """Per output row: the two source rows and the float64 vertical fraction."""

    top: npt.NDArray[np.intp]
    bottom: npt.NDArray[np.intp]
    tb: npt.NDArray[np.float64]


def _scale(n_in: int, n_out: int) -> float:
    # resize_image maps output corners onto input corners ("align corners").
    return (n_in - 1) / max(n_out - 1, 1)


def column_taps(n_in: int, n_out: int) -> ColumnTaps:
    """Column sample positions of dlib's ``resize_image`` (bilinear, SIMD path), vectorised."""
    xs = _scale(n_in, n_out)
    x0 = -4.0 * xs
    n_groups_max = (n_out + 3) // 4 + 1
    # Each SIMD lane starts at a float32 value and is advanced by float32(4*xs) once per group,
    # accumulated in float32 exactly as _mm_add_ps does (np.add.accumulate is sequential).
    step = np.full(n_groups_max, np.float32(4.0 * xs), dtype=np.float32)
    lanes = np.empty((n_groups_max, 4), dtype=np.float32)
    for j in range(4):
        step[0] = np.float32(x0 + j * xs) + np.float32(4.0 * xs)
        lanes[:, j] = np.add.accumulate(step)
    left_l = lanes.astype(np.int32)  # _mm_cvttps_epi32 truncates
    ok = left_l[:, 3] + 1 < n_in
    groups = int(np.argmin(ok)) if not ok.all() else n_groups_max
    groups = min(groups, n_out // 4)
    n_simd = 4 * groups
    simd_x = lanes[:groups].reshape(-1)
    simd_left = left_l[:groups].reshape(-1).astype(np.intp)
    lr = (simd_x - simd_left.astype(np.float32)).astype(np.float32)
    inv_lr = (np.float32(1.0) - lr).astype(np.float32)
    # Scalar tail: x restarts from double precision and is accumulated in double.
    n_tail = n_out - n_simd
    tail_acc = np.full(n_tail + 1, xs, dtype=np.float64)
    tail_acc[0] = -xs + n_simd * xs
    tail_x = np.add.accumulate(tail_acc)[1:]
    tail_left = np.floor(tail_x).astype(np.intp)
    left = np.concatenate([simd_left, tail_left])
    right = np.concatenate([simd_left + 1, np.minimum(tail_left + 1, n_in - 1)])
    return ColumnTaps(left, right, lr, inv_lr, tail_x - tail_left, n_simd)


def row_taps(n_in: int, n_out: int) -> RowTaps:
    """Row sample positions of dlib's ``resize_image``: ``y`` accumulated in double."""
    ys = _scale(n_in, n_out)
    acc = np.full(n_out + 1, ys, dtype=np.float64)
    acc[0] = -ys
    y = np.add.accumulate(acc)[1:]
    top = np.floor(y).astype(np.intp)
    return RowTaps(top, np.minimum(top + 1, n_in - 1), y - top)


def _simd_blend(src: np.ndarray, rows: RowTaps, cols: ColumnTaps, sl: slice) -> npt.NDArray[np.float32]:
    """float32 ``tl*w00 + tr*w01 + bl*w10 + br*w11`` of the SIMD columns, channel-first src."""
    tbf = rows.tb.astype(np.float32)[:, None]
    inv_tbf = (1.0 - rows.tb).astype(np.float32)[:, None]
    lr, inv_lr = cols.lr[None, sl], cols.inv_lr[None, sl]
    left, right = cols.left[sl], cols.right[sl]
    top_rows = src[:, rows.top, :]
    bot_rows = src[:, rows.bottom, :]
    acc = (inv_tbf * inv_lr) * top_rows[:, :, left]
    acc += (inv_tbf * lr) * top_rows[:, :, right]
    acc += (tbf * inv_lr) * bot_rows[:, :, left]
    acc += (tbf * lr) * bot_rows[:, :, right]
    return acc


def resize_planes_into(src: np.ndarray, dst: np.ndarray) -> None:
    """Bilinear resize of float planes (C, h, w) into ``dst`` (C, H, W), as dlib's ``resize_image``.

    This is what ``tt::resize_bilinear`` does to each pyramid level inside dlib's input tensor
    (same sample positions: corners onto corners). It is computed separably (rows, then
    columns) instead of with dlib's four float32 weight products, so values differ from dlib's
    by float32 rounding only (~1e-7); the uint8 ``pyramid_up`` below needs and keeps exactness.
    """
    n_rows, n_cols = dst.shape[1], dst.shape[2]
    rows, cols = row_taps(src.shape[1], n_rows), column_taps(src.shape[2], n_cols)
    lr = np.concatenate([cols.lr, cols.lr_tail.astype(np.float32)])
    inv_lr = (1.0 - lr).astype(np.float32)
    tb = rows.tb.astype(np.float32)[:, None]
    inv_tb = (1.0 - rows.tb).astype(np.float32)[:, None]
    # One channel at a time keeps the temporaries a third the size (fewer cache misses).
    for plane, out in zip(src, dst, strict=True):
        v = np.take(plane, rows.top, axis=0)
        v *= inv_tb
        w = np.take(plane, rows.bottom, axis=0)
        w *= tb
        v += w
        h = np.take(v, cols.left, axis=1)
        h *= inv_lr
        g = np.take(v, cols.right, axis=1)
        g *= lr
        np.add(h, g, out=out)


def resize_rgb_u8(img: npt.NDArray[np.uint8], n_rows: int, n_cols: int) -> npt.NDArray[np.uint8]:
    """dlib ``resize_image`` of an RGB ``matrix<rgb_pixel>`` (H, W, 3) uint8, values truncated."""
    planes = np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32)
    rows, cols = row_taps(img.shape[0], n_rows), column_taps(img.shape[1], n_cols)
    out = np.empty((3, n_rows, n_cols), dtype=np.uint8)
    n = cols.n_simd
    if n:
        out[:, :, :n] = _simd_blend(planes, rows, cols, slice(0, n)).astype(np.int32)
    if n < n_cols:
        left, right = cols.left[n:], cols.right[n:]
        lr = cols.lr_tail[None, None, :]
        tb = rows.tb[None, :, None]
        top = planes[:, rows.top, :].astype(np.float64)
        bot = planes[:, rows.bottom, :].astype(np.float64)
        val = (1 - tb) * ((1 - lr) * top[:, :, left] + lr * top[:, :, right]) + tb * (
            (1 - lr) * bot[:, :, left] + lr * bot[:, :, right]
        )
        out[:, :, n:] = val.astype(np.int32)
    return np.ascontiguousarray(out.transpose(1, 2, 0))


def _round(v: float) -> int:
    # dlib's drectangle -> rectangle and dpoint -> point conversions: floor(x + 0.5).
    return math.floor(v + 0.5)


def pyramid_up_size(n_rows: int, n_cols: int) -> tuple[int, int]:
    """Output size of ``pyramid_up`` with ``pyramid_down<2>``: ``rect_up`` of the image rect."""
    # point_up(p) = (p + (1.25, 0.75)) * 2 applied to the bottom-right corner, then rounded.
    right = _round((n_cols - 1 + 1.25) * 2)
    bottom = _round((n_rows - 1 + 0.75) * 2)
    return bottom + 1, right + 1


def pyramid_up(img: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``dlib::pyramid_up(img, pyramid_down<2>())`` of an (H, W, 3) uint8 RGB image, bit-exact.

    dlib's own ``resize_image`` binding runs the very same C++ (~15x faster than the numpy
    emulation); the emulation is the fallback when the dlib module cannot be imported.
    """
    n_rows, n_cols = pyramid_up_size(img.shape[0], img.shape[1])
    try:
        import dlib
    except ImportError:  # pragma: no cover - dlib is a dependency; kept for slim installs
        return resize_rgb_u8(img, n_rows, n_cols)
    return np.asarray(dlib.resize_image(np.ascontiguousarray(img), n_rows, n_cols))


def _level_sizes(n_rows: int, n_cols: int, factor: int) -> list[tuple[int, int]]:
    """(width, height) of each pyramid level: ``find_pyramid_down_output_image_size``."""
    rate = (factor - 1.0) / factor
    sizes = [(n_cols, n_rows)]
    while True:
        n_rows, n_cols = math.floor(rate * n_rows), math.floor(rate * n_cols)
        if n_rows * n_cols == 0 or n_rows < _MIN_LEVEL_HEIGHT:
            return sizes
        sizes.append((n_cols, n_rows))


def _first_column_height(sizes: Sequence[tuple[int, int]], padding: int) -> int:
    """Height used by the left column of levels (the big image and those below it)."""
    width0, height0 = sizes[0]
    total = sum(h + padding for _, h in sizes) - 2 * padding
    height, prev_width = 0, 0
    for w, h in sizes:
        # Stop once the next level fits beside the previous one and we are past half-way, so
        # the remaining levels can climb back up the right-hand side.
        if w <= width0 - prev_width - padding and (height - height0) * 2 >= total - height0:
            break
        height += h + padding
        prev_width = w
    return height - padding


def tiled_pyramid_layout(
    n_rows: int, n_cols: int, *, factor: int, padding: int, outer_padding: int
) -> tuple[list[Rect], int, int]:
    """Where each pyramid level goes in the tiled image: dlib's ``compute_tiled_image_pyramid_details``.

    Returns:
        rects (inclusive l, t, r, b per level, level 0 = the image itself), and the tiled
        image's rows and columns.
    """
    if n_rows * n_cols == 0:
        return [], 0, 0
    sizes = _level_sizes(n_rows, n_cols, factor)
    height = _first_column_height(sizes, padding)
    width = sizes[0][0]
    rects: list[Rect] = []
    y = outer_padding
    i = 0
    while y < height + outer_padding and i < len(sizes):
        w, h = sizes[i]
        rects.append((outer_padding, y, outer_padding + w - 1, y + h - 1))
        y += h + padding
        i += 1
    y -= padding
    first = rects[0]
    while i < len(sizes):
        w, h = sizes[i]
        # Right-hand column, stacked upwards from the bottom-right corner.
        right, bottom = outer_padding + width - 1, y - 1
        rect = (right - w + 1, bottom - h + 1, right, bottom)
        if max(first[0], rect[0]) <= min(first[2], rect[2]) and max(first[1], rect[1]) <= min(first[3], rect[3]):
            break  # would overlap the full-size image: drop the remaining levels
        rects.append(rect)
        y -= h + padding
        i += 1
    return rects, height + 2 * outer_padding, width + 2 * outer_padding


def build_input_tensor(
    img: npt.NDArray[np.uint8],
    rects: Sequence[Rect],
    shape: tuple[int, int],
    mean_rgb: tuple[float, float, float],
) -> npt.NDArray[np.float32]:
    """``input_rgb_image_pyramid::to_tensor``: (1, 3, rows, cols) float32 tiled pyramid.

    Level 0 is ``(pixel - mean) / 256`` placed at ``rects[0]``; every other level is a bilinear
    resize of the previous level *of the tensor* (float, after the mean subtraction), and the
    padding stays 0.
    """
    tensor = np.zeros((1, 3, shape[0], shape[1]), dtype=np.float32)
    left, top, right, bottom = rects[0]
    prev = tensor[0, :, top : bottom + 1, left : right + 1]
    for c in range(3):
        # dlib computes (int(v) - float(mean)) in float, then / 256 (exact): a 256-entry table.
        lut = (np.arange(256, dtype=np.float32) - np.float32(mean_rgb[c])) / np.float32(256.0)
        np.take(lut, img[:, :, c], out=prev[c], mode="clip")
    for left, top, right, bottom in rects[1:]:
        level = tensor[0, :, top : bottom + 1, left : right + 1]
        resize_planes_into(prev, level)
        prev = level
    return tensor
