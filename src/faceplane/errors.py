"""Exceptions raised by faceplane.

Every error the library raises on purpose derives from :class:`FaceplaneError`, so a caller
(the CLI, the server) can catch one root and turn it into a one-line message or an HTTP status::

    FaceplaneError
    ├── ImageError                 the input could not be turned into an RGB image
    │   ├── ImageNotFoundError     a path that does not exist or is not a file
    │   ├── InvalidImageError      empty, corrupt, truncated or not an image at all
    │   └── ImageTooLargeError     more pixels than the decompression-bomb limit
    ├── ModelError                 a model's weights are missing or unreadable
    ├── NotFoundError              no collection, person or template with that name or id
    ├── SourceError                a video source cannot be opened (missing file, bad URL, no device)
    │   └── SourceRefusedError     the camera source policy does not allow this source
    ├── PermissionDeniedError      the caller's role may not do this (e.g. a local file camera, non-admin)
    └── InvalidArgumentError       a bad argument value (also a ValueError)

No face in an image is not an error: it is an empty :class:`faceplane.Faces`.
"""

from __future__ import annotations

__all__ = [
    "FaceplaneError",
    "ImageError",
    "ImageNotFoundError",
    "ImageTooLargeError",
    "InvalidArgumentError",
    "InvalidImageError",
    "ModelError",
    "NotFoundError",
    "PermissionDeniedError",
    "SourceError",
    "SourceRefusedError",
]


class FaceplaneError(Exception):
    """Root of every error faceplane raises on purpose.

    Attributes:
        audited: set by a service that wrote this refusal to the audit log itself, with more detail than
            the API's generic refusal row (which is then not written again).
    """

    audited: bool = False


class ImageError(FaceplaneError):
    """The input could not be decoded into an RGB image."""


class ImageNotFoundError(ImageError, FileNotFoundError):
    """A path given as an image does not exist or is not a regular file."""


class InvalidImageError(ImageError):
    """The bytes are empty, corrupt, truncated, or not an image format we decode."""


class ImageTooLargeError(ImageError):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class ModelError(FaceplaneError):
    """A model's weights are missing, unreadable or inconsistent."""


class InvalidArgumentError(FaceplaneError, ValueError):
    """An argument has a value outside what the function accepts."""


class NotFoundError(FaceplaneError, LookupError):
    """No collection, person or template with that name or id."""


class SourceError(FaceplaneError):
    """A video source cannot be opened or read: a missing file, a malformed URL, no such device."""


class SourceRefusedError(SourceError):
    """The camera source policy (``camera_sources`` in the settings) does not allow this source."""


class PermissionDeniedError(FaceplaneError, PermissionError):
    """The caller's role may not do this, though a higher role may (e.g. a local file as a camera source)."""
