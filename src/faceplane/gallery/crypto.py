"""Template protection: face embeddings and thumbnails encrypted at rest, gallery exports sealed.

Two independent mechanisms, both AES-256-GCM from ``cryptography``:

* **At rest** (:class:`TemplateCipher`): with a 32-byte key (``template_key`` in the settings,
  ``faceplane keygen`` makes one) the store encrypts every template and unknown-face embedding
  and thumbnail. Each value is sealed on its own as ``0x01 | nonce (12 random bytes) |
  ciphertext | tag (16)``; the associated data names the table, the column and the row id
  (``b"faceplane/templates/embedding/42"``), so a blob copied into another row or column does
  not decrypt. A key-check value in the store's ``meta`` table tells "no key" and "wrong key"
  apart from a working key when the store is opened.
* **Exports** (:func:`seal_export` / :func:`open_export`): a passphrase-protected export is two
  ASCII lines: a JSON header (``{"faceplane_sealed_export": 1, "cipher": "AES-256-GCM", "kdf":
  "scrypt", "n", "r", "p", "salt", "nonce"}``) and the base64 of the AES-GCM ciphertext of the
  whole plain JSON Lines export. The key is scrypt(passphrase, salt); the header line, byte for
  byte, is the associated data, so changing the KDF cost, the salt or any byte of the body makes
  the file refuse to open. "Signed" here means what AES-GCM gives: integrity and authenticity
  for whoever holds the passphrase (anyone who can open an export can also make one). It is not
  a public-key signature and does not say *which* holder wrote the file.

What is **not** protected: embeddings in RAM (every vector index needs plaintext to search), the
vector files a FAISS index saves next to the store (``index.faiss/``: ``vectors.npy`` and the raw
rows are plaintext float32), Milvus's own storage (``milvus.db`` or the server), names, metadata
and consent records (only biometric values are encrypted), and event snapshots. The key protects
a stolen database file or backup, not a compromised running server that holds the key.

Example:
    >>> key = parse_template_key(new_template_key())
    >>> cipher = TemplateCipher(key)
    >>> blob = cipher.seal(b"secret", b"faceplane/templates/embedding/1")
    >>> cipher.reveal(blob, b"faceplane/templates/embedding/1")
    b'secret'
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "SEALED_EXPORT_MAGIC",
    "TemplateCipher",
    "is_sealed_export",
    "new_template_key",
    "open_export",
    "parse_template_key",
    "seal_export",
]

KEY_BYTES = 32
_VERSION = b"\x01"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_CHECK_PLAINTEXT = b"faceplane template key check v1"
_CHECK_AD = b"faceplane/meta/template_key_check"

SEALED_EXPORT_MAGIC = "faceplane_sealed_export"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**17, 8, 1  # 128 MiB, ~0.5 s: OWASP's scrypt minimum
_SCRYPT_MAX_MEMORY = 2**30  # refuse headers asking for more (a forged header must not exhaust RAM)
_AESGCM_MAX_BYTES = 2**31 - 1  # one AES-GCM call (cryptography's limit)


def new_template_key() -> str:
    """A fresh random template key: base64 of 32 random bytes (what ``faceplane keygen`` prints)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_template_key(text: str, *, name: str = "template_key") -> bytes:
    """The 32 key bytes of a base64 template key.

    Raises:
        InvalidArgumentError: not base64, or not 32 bytes once decoded (the message names ``name``).
    """
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgumentError(f"{name} is not base64 (make one with `faceplane keygen`)") from None
    if len(key) != KEY_BYTES:
        raise InvalidArgumentError(
            f"{name} must be base64 of {KEY_BYTES} bytes, got {len(key)} bytes (make one with `faceplane keygen`)"
        )
    return key


def _aesgcm(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # lazy: nothing heavy at import

    return AESGCM(key)


class TemplateCipher:
    """Seals and opens single values (embeddings, thumbnails) with one 32-byte key.

    Args:
        key: 32 raw bytes (see :func:`parse_template_key`).

    Raises:
        InvalidArgumentError: a key that is not 32 bytes.
    """

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise InvalidArgumentError(f"a template key is {KEY_BYTES} raw bytes, got {len(key)}")
        self._aead = _aesgcm(key)

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """``0x01 | nonce | ciphertext+tag`` with a fresh random nonce."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, associated_data)

    def reveal(self, blob: bytes, associated_data: bytes) -> bytes:
        """The plaintext of :meth:`seal`'s output.

        Raises:
            InvalidArgumentError: not a sealed value, the wrong key, another row's value, or tampered bytes.
        """
        from cryptography.exceptions import InvalidTag

        blob = bytes(blob)
        if len(blob) < 1 + _NONCE_BYTES + _TAG_BYTES or blob[:1] != _VERSION:
            raise InvalidArgumentError(f"not an encrypted template value ({associated_data.decode()})")
        try:
            return self._aead.decrypt(blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :], associated_data)
        except InvalidTag:
            raise InvalidArgumentError(
                f"encrypted value {associated_data.decode()} does not decrypt: wrong key, moved or tampered"
            ) from None

    def check_value(self) -> str:
        """A base64 value proving this key to :meth:`matches` later (kept in the store's ``meta``)."""
        return base64.b64encode(self.seal(_CHECK_PLAINTEXT, _CHECK_AD)).decode("ascii")

    def matches(self, check_value: str) -> bool:
        """Whether ``check_value`` was made by :meth:`check_value` with this same key."""
        try:
            return self.reveal(base64.b64decode(check_value), _CHECK_AD) == _CHECK_PLAINTEXT
        except (InvalidArgumentError, binascii.Error, ValueError):
            return False


# -- sealed exports ---------------------------------------------------------------------------------


def _export_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _check_passphrase(passphrase: str) -> None:
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidArgumentError("an export passphrase must be a non-empty string")


def is_sealed_export(first_line: str) -> bool:
    """Whether this first line of a file is the header of a passphrase-sealed export."""
    return first_line.lstrip().startswith("{") and f'"{SEALED_EXPORT_MAGIC}"' in first_line


def seal_export(body: str, passphrase: str) -> str:
    """Encrypt and authenticate a whole plain export; returns the two-line sealed file.

    Args:
        body: the plain JSON Lines export.
        passphrase: the secret shared with whoever imports it.

    Raises:
        InvalidArgumentError: an empty passphrase, or a body over 2 GiB (export fewer people per file).
    """
    _check_passphrase(passphrase)
    data = body.encode("utf-8")
    if len(data) > _AESGCM_MAX_BYTES:
        raise InvalidArgumentError(f"export of {len(data)} bytes is too large to seal (2 GiB at most)")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(_NONCE_BYTES)
    header = json.dumps(
        {
            SEALED_EXPORT_MAGIC: 1,
            "cipher": "AES-256-GCM",
            "kdf": "scrypt",
            "n": _SCRYPT_N,
            "r": _SCRYPT_R,
            "p": _SCRYPT_P,
            "salt": base64.b64encode(salt).decode("ascii"),
            "nonce": base64.b64encode(nonce).decode("ascii"),
        }
    )
    key = _export_key(passphrase, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    sealed = _aesgcm(key).encrypt(nonce, data, header.encode("ascii"))
    return header + "\n" + base64.b64encode(sealed).decode("ascii") + "\n"


def _parse_header(header_line: str) -> tuple[bytes, bytes, int, int, int]:
    """(salt, nonce, n, r, p) of a sealed export's header, bounded before any work is done."""
    try:
        header = json.loads(header_line)
        salt, nonce = base64.b64decode(header["salt"], validate=True), base64.b64decode(header["nonce"], validate=True)
        n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
        ok = (
            header[SEALED_EXPORT_MAGIC] == 1
            and header["cipher"] == "AES-256-GCM"
            and header["kdf"] == "scrypt"
            and len(nonce) == _NONCE_BYTES
            and len(salt) >= 16
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        ok = False
    if not ok:
        raise InvalidArgumentError("not a sealed faceplane export this version reads (malformed or unknown header)")
    if n < 2**14 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or 128 * n * r * p > _SCRYPT_MAX_MEMORY:
        raise InvalidArgumentError(f"sealed export asks for unsupported scrypt costs n={n} r={r} p={p}")
    return salt, nonce, n, r, p


def open_export(header_line: str, body: str, passphrase: str) -> str:
    """The plain JSON Lines export inside a sealed one, after checking it is intact.

    Args:
        header_line: the file's first line (the JSON header, exactly as read; a trailing newline is ignored).
        body: the rest of the file (the base64 ciphertext).
        passphrase: the passphrase it was sealed with.

    Raises:
        InvalidArgumentError: a malformed header, or a wrong passphrase / modified file (one message for
            both: AES-GCM cannot tell them apart).
    """
    from cryptography.exceptions import InvalidTag

    _check_passphrase(passphrase)
    header = header_line.rstrip("\r\n")
    salt, nonce, n, r, p = _parse_header(header)
    try:
        sealed = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgumentError("sealed export is damaged: its body is not base64") from None
    key = _export_key(passphrase, salt, n, r, p)
    try:
        data = _aesgcm(key).decrypt(nonce, sealed, header.encode("utf-8"))
    except InvalidTag:
        raise InvalidArgumentError(
            "sealed export does not authenticate: wrong passphrase, or the file was modified (nothing imported)"
        ) from None
    return data.decode("utf-8")
