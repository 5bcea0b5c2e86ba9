"""Not this person, on LFW View 1: does a correction stay corrected, and are the person's true matches kept?

Run:  python bench/identify_lfw.py --model mobilefacenet     (once: caches the embeddings)
      python bench/corrections_lfw.py                          (the table; --pick lists the look-alike pairs)

Protocol (the gallery of bench/identify_lfw.py): each person ``P`` with 2+ images enrolls their first
image (sorted by name) as their one template. A **false match** is an image of another person ``I``
within the threshold of ``P``'s template. For each false match on its own, that image is recorded as a
negative of ``P`` (``faceplane.gallery.negatives``: a probe is not ``P`` when it lies nearer to one of
``P``'s negatives than to ``P``'s nearest template) and we count:

- same photo: the corrected image is no longer named ``P``;
- new sightings: ``I``'s *other* images that were named ``P`` before and are not after;
- true matches kept: ``P``'s other images named ``P`` before and still after;
- other strangers: images of third people named ``P`` before and not after (a side effect, not a target).

"Named P" here is the watchlist decision for ``P`` alone: within the threshold and not ruled out. Rows
use the thresholds of a watchlist of 1, 10 and 100 people at the default FPIR of 1 % (1:1 FAR 1e-2, 1e-3,
1e-4 from the calibrated curve, chosen on LFW DevTrain people by bench/calibrate_open_set.py). The rule
has no tuned number, so nothing here is chosen on the data it reports on.

``--pick``: the look-alike pairs for tests/integration/test_corrections.py: every impostor ``I`` with 2+
images of which at least two lie within the FAR 1e-2 distance of the template of a person ``P`` with 3+
images (so a new sighting and two true photos exist), sorted by the smallest such distance.
Writes bench/out/corrections_lfw.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict

import numpy as np
import numpy.typing as npt

from _lfw import OUT
from faceplane.verify import load_calibration

MODEL = "mobilefacenet"
WATCHLIST_SIZES = (1, 10, 100)
FPIR = 0.01

_F64 = npt.NDArray[np.float64]


def _load() -> tuple[list[str], _F64, dict[str, list[int]]]:
    cache = OUT / f"lfw_embeddings_{MODEL}.npz"
    if not cache.is_file():
        sys.exit(f"{cache} missing: run python bench/identify_lfw.py --model {MODEL} first")
    with np.load(cache) as z:
        paths, emb = z["paths"].tolist(), z["embedding"].astype(np.float64)
    people: dict[str, list[int]] = defaultdict(list)
    for i in sorted(range(len(paths)), key=lambda i: paths[i]):
        people[paths[i].split("/")[0]].append(i)
    return paths, emb, dict(people)


def _distances(emb: _F64, rows: list[int]) -> _F64:
    """(len(rows), N) distances of unit-length embeddings."""
    return np.sqrt(np.clip(2.0 - 2.0 * emb[rows] @ emb.T, 0.0, None))


def measure(emb: _F64, people: dict[str, list[int]], threshold: float) -> dict[str, object]:
    """The counts of the module docstring for one threshold."""
    owner = np.empty(len(emb), np.int64)
    names = sorted(people)
    for k, name in enumerate(names):
        owner[people[name]] = k
    enrolled = [(k, people[n][0]) for k, n in enumerate(names) if len(people[n]) >= 2]
    to_template = _distances(emb, [t for _, t in enrolled])  # (P, N)
    counts = dict.fromkeys(
        ("events", "same_fixed", "new_before", "new_fixed", "true_before", "true_kept", "other_before", "other_fixed"),
        0,
    )
    for (k, template), d_p in zip(enrolled, to_template, strict=True):
        named = d_p <= threshold
        named[template] = False
        false = np.flatnonzero(named & (owner != k))
        true = np.flatnonzero(named & (owner == k))
        for neg in false:
            d_n = np.sqrt(np.clip(2.0 - 2.0 * emb @ emb[neg], 0.0, None))  # to the correction
            still = named & ~(d_n < d_p)
            same_person = owner == owner[neg]
            new = np.flatnonzero(named & same_person)
            new = new[new != neg]
            other = np.flatnonzero(named & ~same_person & (owner != k))
            counts["events"] += 1
            counts["same_fixed"] += int(not still[neg])
            counts["new_before"] += len(new)
            counts["new_fixed"] += int((~still[new]).sum())
            counts["true_before"] += len(true)
            counts["true_kept"] += int(still[true].sum())
            counts["other_before"] += len(other)
            counts["other_fixed"] += int((~still[other]).sum())
    return counts


def pick(paths: list[str], emb: _F64, people: dict[str, list[int]], threshold: float, top: int) -> list[dict]:
    """The look-alike pairs of ``--pick`` (module docstring), smallest distance first."""
    found = []
    for p, rows in people.items():
        if len(rows) < 3:
            continue
        d = _distances(emb, [rows[0]])[0]
        for i, other in people.items():
            if i == p or len(other) < 2:
                continue
            within = sorted((float(d[j]), paths[j]) for j in other if d[j] <= threshold)
            if len(within) >= 2:
                found.append({"person": paths[rows[0]], "impostor": [w[1] for w in within],
                              "distances": [round(w[0], 4) for w in within]})  # fmt: skip
    return sorted(found, key=lambda f: f["distances"][0])[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pick", type=int, metavar="N", help="list the N closest look-alike pairs and stop")
    args = parser.parse_args()
    cal = load_calibration(MODEL)
    paths, emb, people = _load()
    if args.pick:
        for row in pick(paths, emb, people, cal.threshold_for_fpir(FPIR, 1), args.pick):
            print(json.dumps(row))
        return 0
    rows = []
    for size in WATCHLIST_SIZES:
        threshold = cal.threshold_for_fpir(FPIR, size)
        rows.append({"watchlist": size, "threshold": threshold, **measure(emb, people, threshold)})
    print(f"LFW View 1, {MODEL}: one template per person (first image), each false match corrected on its own\n")
    head = (f"{'watchlist':>9}{'thr':>7}{'false matches':>15}{'same photo':>21}{'new sightings':>21}"
            f"{'true kept':>21}{'other strangers':>25}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in rows:
        def rate(a: str, b: str, r: dict = r) -> str:
            return f"{r[a]:,}/{r[b]:,} {r[a] / max(r[b], 1):.1%}"

        print(f"{r['watchlist']:>9}{r['threshold']:>7.3f}{r['events']:>15,}{rate('same_fixed', 'events'):>21}"
              f"{rate('new_fixed', 'new_before'):>21}{rate('true_kept', 'true_before'):>21}"
              f"{rate('other_fixed', 'other_before'):>25}")  # fmt: skip
    print("\nwatchlist: people searched at FPIR 1 % (threshold = 1:1 FAR 1 %/people, DevTrain-calibrated). "
          "same photo: corrected image no longer named; new sightings: the impostor's other images no longer named; "
          "true kept: the person's own other images still named; other strangers: third people no longer named.")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "corrections_lfw.json").write_text(json.dumps({"model": MODEL, "fpir": FPIR, "rows": rows}, indent=2))
    print(f"wrote {OUT / 'corrections_lfw.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
