#!/usr/bin/env python3
"""Reads a jointscore SR with highdicom and prints what it found as JSON.

Usage: python3 test/python/read_sr.py FILE

An independent reader for the round-trip test: highdicom parses the file as a
Comprehensive (3D) SR and its content as a TID 1500 Measurement Report. Exits 2 with a
message when highdicom is missing (pip install -r test/python/requirements.txt).
"""
import json
import sys

try:
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes
except ImportError as e:  # pragma: no cover
    print(
        f"missing Python package ({e}): run python3 -m pip install -r test/python/requirements.txt",
        file=sys.stderr,
    )
    sys.exit(2)


def algorithm_of(group):
    """TID 4019 items of a group (highdicom has no accessor for them when parsing)."""
    items = {
        item.name.value: item.value
        for item in group[0].ContentSequence
        if item.name in (codes.DCM.AlgorithmName, codes.DCM.AlgorithmVersion)
    }
    return [items.get("111001"), items.get("111003")]


def main(path: str) -> None:
    sr = hd.sr.srread(path)
    if not isinstance(sr, (hd.sr.Comprehensive3DSR, hd.sr.ComprehensiveSR)):
        raise SystemExit(f"{path}: not a Comprehensive (3D) SR but {type(sr).__name__}")
    report = hd.sr.MeasurementReport.from_sequence([sr])
    planar = report.get_planar_roi_measurement_groups()
    other = report.get_image_measurement_groups()
    groups = []
    for g in planar:
        roi = g.roi
        sites = g.finding_sites
        groups.append({
            "tracking_id": g.tracking_identifier,
            "tracking_uid": str(g.tracking_uid),
            "graphic_type": roi.graphic_type.value if roi is not None else None,
            "graphic_data": roi.value.tolist() if roi is not None else None,
            "finding_site": [s.value.value for s in sites],
            "laterality": [
                s.laterality.meaning if getattr(s, "laterality", None) is not None else None for s in sites
            ],
            "measurements": {
                m.name.value: m.value for m in g.get_measurements()
            },
            "units": {
                m.name.value: m.unit.value for m in g.get_measurements()
            },
            "evaluations": {
                e.name.value: e.value.value for e in g.get_qualitative_evaluations()
            },
            "algorithm": algorithm_of(g),
        })
    observers = report.get_observer_contexts()
    out = {
        "sop_class": sr.SOPClassUID,
        "patient_name": str(sr.PatientName),
        "title": report[0].name.meaning,
        "observer_types": [o.observer_type.meaning for o in observers],
        "n_planar_groups": len(planar),
        "n_other_groups": len(other),
        "tracking_ids": [g["tracking_id"] for g in groups],
        "other_tracking_ids": [g.tracking_identifier for g in other],
        "groups": groups,
        "versions": {"highdicom": hd.__version__, "pydicom": pydicom.__version__},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: read_sr.py FILE")
    main(sys.argv[1])
