"""Which camera sources a server may open: schemes, hosts, media roots, webcams.

A camera's source goes to FFmpeg, which opens files, URLs of many protocols and playlists that chain
to more of them. :class:`SourcePolicy` decides, before anything is opened, whether a server camera
may use a source; :class:`~faceplane.video.sources.VideoSource` then restricts FFmpeg to the
protocols of the source's scheme (``protocol_whitelist``) and refuses playlist formats, so an allowed
source cannot chain to another protocol, host or file.

The rules, in order:

- ``webcam:N``, ``N`` and ``/dev/videoN`` are webcams: allowed only with ``webcams=True``.
- ``scheme://...`` with a scheme in ``schemes`` is a stream. Its host must not be, or resolve to, an
  address in ``deny_hosts`` (default: loopback, link-local with the cloud metadata service, the
  unspecified address), and must match one of ``hosts``: ``*`` (any), a name glob (``*.cams.local``),
  an address or a network (``10.0.0.0/8``; a name matches when every address it resolves to is in it).
- ``file://PATH`` and plain paths are local files: only below one of ``media_roots`` (after symlinks
  and ``..`` are resolved), and only for admins (``admin=True``); no media roots, no local files.
- Anything else (``concat:``, ``subfile:``, ``pipe:``, ``data:``, another scheme) is refused.

Host names are resolved when a camera is checked; a name whose DNS answer changes later is not checked
again (list addresses or networks in ``hosts`` where that matters).

Example:
    >>> policy = SourcePolicy(schemes=["rtsp"], hosts=["10.0.0.0/8"])
    >>> policy.check("rtsp://user:pw@10.0.0.5/stream", admin=False)
    >>> policy.check("/etc/passwd", admin=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    faceplane.errors.SourceRefusedError: local files are not allowed as camera sources (no media roots ...): /etc/passwd
"""

from __future__ import annotations

import fnmatch
import ipaddress
import logging
import re
import socket
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InvalidArgumentError, PermissionDeniedError, SourceRefusedError

__all__ = [
    "DEFAULT_DENIED_HOSTS",
    "MEDIA_FORMATS",
    "PROTOCOLS",
    "STREAM_SCHEMES",
    "SourcePolicy",
    "ffmpeg_options",
    "parse_host_pattern",
    "redact_source",
]

log = logging.getLogger(__name__)

#: URL schemes a camera may use at all (each still has to be listed in ``schemes``).
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "srt", "udp", "tcp")
#: Never opened unless the operator lists them: the server itself, link-local (cloud metadata at
#: 169.254.169.254 and fd00:ec2::254), the unspecified address.
DEFAULT_DENIED_HOSTS = ("127.0.0.0/8", "::1/128", "0.0.0.0/8", "::/128", "169.254.0.0/16", "fe80::/10", "fd00:ec2::254")

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_WEBCAM = re.compile(r"(?:webcam:)?\d+|/dev/video\d+")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_HOST_GLOB = re.compile(r"[a-zA-Z0-9*?.\-\[\]]+")


def redact_source(source: str) -> str:
    """A source safe for logs and the audit log: user info and query values replaced by ``***``.

    >>> redact_source("rtsp://admin:secret@10.0.0.5/live?token=abc&ch=1")
    'rtsp://***@10.0.0.5/live?token=***&ch=***'
    """
    text = re.sub(r"(://)[^/?#]*@", r"\1***@", source.strip())
    return re.sub(r"([?&][^=&#]*=)[^&#]*", r"\1***", text)[:500]


def parse_host_pattern(pattern: str) -> _Network | str:
    """``'10.0.0.0/8'`` or ``'10.0.0.5'`` -> a network; ``'*.cams.local'`` -> the lower-case glob.

    Raises:
        InvalidArgumentError: neither a network, an address nor a host name glob.
    """
    text = pattern.strip()
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        pass
    if not _HOST_GLOB.fullmatch(text):
        raise InvalidArgumentError(f"not a host pattern, address or network: {pattern!r}")
    return text.lower()


class SourcePolicy:
    """Decides whether a server camera may open a source (see the module docstring).

    Args:
        schemes: stream URL schemes allowed (of :data:`STREAM_SCHEMES`).
        hosts: patterns a stream's host must match: ``*``, name globs, addresses, networks.
        deny_hosts: addresses and networks never opened, whatever ``hosts`` says.
        media_roots: folders whose files may be camera sources (admins only).
        webcams: allow local capture devices.

    Raises:
        InvalidArgumentError: an unknown scheme or a malformed host pattern.
    """

    def __init__(
        self,
        *,
        schemes: Sequence[str] = ("rtsp", "rtsps"),
        hosts: Sequence[str] = ("*",),
        deny_hosts: Sequence[str] = DEFAULT_DENIED_HOSTS,
        media_roots: Sequence[str | Path] = (),
        webcams: bool = False,
    ) -> None:
        unknown = sorted(set(schemes) - set(STREAM_SCHEMES))
        if unknown:
            raise InvalidArgumentError(f"unknown camera source scheme(s) {unknown}; known: {list(STREAM_SCHEMES)}")
        self.schemes = frozenset(schemes)
        self.hosts = [parse_host_pattern(p) for p in hosts]
        self.deny: list[_Network] = []
        for text in deny_hosts:
            net = parse_host_pattern(text)
            if isinstance(net, str):
                raise InvalidArgumentError(f"deny_hosts takes addresses and networks, not names: {text!r}")
            self.deny.append(net)
        self.media_roots = [Path(r).resolve() for r in media_roots]
        self.webcams = webcams

    def check(self, source: str, *, admin: bool) -> None:
        """Refuse ``source`` unless the policy allows it for this caller.

        Raises:
            SourceRefusedError: the policy does not allow the source (whoever asks).
            PermissionDeniedError: a local file asked by a caller who is not an admin.
        """
        spec = source.strip()
        shown = redact_source(spec)
        if _WEBCAM.fullmatch(spec):
            if not self.webcams:
                raise SourceRefusedError(f"webcams are not allowed as camera sources ({shown}); see camera_sources")
            return
        scheme = _SCHEME.match(spec)
        if scheme and spec.lower().startswith("file://"):
            self._check_file(spec[len("file://") :], shown, admin=admin)
        elif scheme:
            self._check_stream(spec, scheme.group(1).lower(), shown)
        else:
            self._check_file(spec, shown, admin=admin)

    def _check_stream(self, url: str, scheme: str, shown: str) -> None:
        if scheme not in self.schemes or not url[len(scheme) :].startswith("://"):
            allowed = ", ".join(sorted(self.schemes)) or "none"
            raise SourceRefusedError(f"the scheme {scheme!r} is not allowed for cameras ({shown}); allowed: {allowed}")
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if not host:
            raise SourceRefusedError(f"no host in the camera source {shown}")
        addresses = _addresses(host)
        for address in addresses:
            denied = next((net for net in self.deny if address in net), None)
            if denied is not None:
                raise SourceRefusedError(f"the host {host} ({address}) of {shown} is in a denied range ({denied})")
        if not any(_host_matches(pattern, host, addresses) for pattern in self.hosts):
            raise SourceRefusedError(f"the host {host} of {shown} matches no pattern of camera_sources.hosts")

    def _check_file(self, path: str, shown: str, *, admin: bool) -> None:
        if not self.media_roots:
            raise SourceRefusedError(
                f"local files are not allowed as camera sources (no media roots are configured): {shown}"
            )
        if not admin:
            raise PermissionDeniedError(f"a local file as a camera source needs the admin role: {shown}")
        try:
            resolved = Path(path).resolve()  # symlinks and '..' first: the root check is on the real file
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
            raise SourceRefusedError(f"cannot resolve the camera source {shown}: {exc}") from None
        if not any(resolved.is_relative_to(root) for root in self.media_roots):
            raise SourceRefusedError(f"the camera source {shown} is outside the media roots")


def _addresses(host: str) -> list[_Address]:
    """The addresses ``host`` is, or resolves to now (none when it does not resolve)."""
    try:
        found: list[_Address] = [ipaddress.ip_address(host)]
    except ValueError:
        try:  # also turns the numeric forms FFmpeg accepts ('2130706433', '0x7f.1') into addresses
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            log.info("camera host %s does not resolve now", host)
            return []
        found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return [a.ipv4_mapped if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped else a for a in found]


def _host_matches(pattern: _Network | str, host: str, addresses: list[_Address]) -> bool:
    if isinstance(pattern, str):
        return pattern == "*" or fnmatch.fnmatchcase(host.lower(), pattern)
    return bool(addresses) and all(a in pattern for a in addresses)


# -- what FFmpeg may do once a source is open ---------------------------------------------------------

#: The protocols FFmpeg may open for a source of each scheme: the scheme's own and what it runs on,
#: nothing else, so a playlist or an RTSP/HTTP redirect cannot reach a file or another protocol.
PROTOCOLS = {
    "file": "file",
    "rtsp": "rtsp,rtp,udp,tcp",
    "rtsps": "rtsps,rtsp,rtp,udp,tcp,tls",
    "rtmp": "rtmp,tcp",
    "rtmps": "rtmps,tls,tcp",
    "http": "http,tcp",
    "https": "https,tls,tcp",
    "srt": "srt",
    "udp": "udp",
    "tcp": "tcp",
}
#: Demuxers of files and HTTP/UDP/TCP/SRT streams: media containers and elementary streams. Not HLS,
#: DASH, concat, SDP or image sequences: those open further files and URLs that no check has seen.
MEDIA_FORMATS = (
    "mov,matroska,avi,gif,mpegts,flv,mpeg,mpegvideo,m4v,h264,hevc,mjpeg,mpjpeg,ivf,yuv4mpegpipe,asf,ogg,nut"
)


def ffmpeg_options(url: str, ffmpeg_format: str | None, *, playlists: bool = False) -> dict[str, str]:
    """The options :func:`av.open` gets for a source (see :func:`~faceplane.video.sources.describe_source`).

    ``protocol_whitelist`` holds the protocols of the URL's scheme (:data:`PROTOCOLS`; paths are
    ``file``); ``format_whitelist`` holds :data:`MEDIA_FORMATS` for files and streams other than RTSP
    (whose demuxer is fixed) and webcams (``ffmpeg_format`` given), unless ``playlists`` allows every
    demuxer (the CLI, on files its user names). RTSP also goes over TCP (survives NAT and packet loss).

    >>> ffmpeg_options("rtsp://10.0.0.5/s", None)
    {'protocol_whitelist': 'rtsp,rtp,udp,tcp', 'rtsp_transport': 'tcp'}
    """
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match and "://" in url else "file"
    options = {"protocol_whitelist": PROTOCOLS.get(scheme, "file")}
    if scheme in ("rtsp", "rtsps"):
        options["rtsp_transport"] = "tcp"
    elif ffmpeg_format is None and not playlists:
        options["format_whitelist"] = MEDIA_FORMATS
    return options
