import faceplane


def test_all_names_exist_once():
    for name in faceplane.__all__:
        assert hasattr(faceplane, name), name
    assert len(set(faceplane.__all__)) == len(faceplane.__all__)


def test_public_names_are_the_curated_set():
    import types

    modules = {n for n in dir(faceplane) if isinstance(getattr(faceplane, n), types.ModuleType)}
    public = {n for n in dir(faceplane) if not n.startswith("_")} - modules - {
        "annotations",
        "errors",
        "images",
        "pipeline",
        "quality",
        "types",
        "verify",
        "align",
        "geometry",
        "models",
        "cli",
        "demo",
        "evaluation",
        "gallery",
        "video",
        "events",
    }
    assert public == set(faceplane.__all__) - {"__version__"}


def test_errors_share_one_root():
    for name in faceplane.__all__:
        obj = getattr(faceplane, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, faceplane.FaceplaneError), name


def test_import_loads_no_model():
    import subprocess
    import sys

    code = "import sys, faceplane; print('dlib' in sys.modules, 'onnxruntime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_video_import_opens_nothing():
    import subprocess
    import sys

    heavy = "{'av', 'dlib', 'onnxruntime', 'cv2'}"
    code = f"import sys, faceplane.video, faceplane.events; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_video_names_exist():
    import faceplane.video

    for name in faceplane.video.__all__:
        assert hasattr(faceplane.video, name), name
