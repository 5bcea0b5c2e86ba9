"""Scale-out: camera workers on a Ray cluster (``pip install faceplane[cluster]``).

Nothing here is imported by the embedded default; :mod:`faceplane.cluster.ray_video` imports Ray
when it is used.
"""

__all__: list[str] = []
