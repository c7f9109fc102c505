#!/usr/bin/env python3
"""The PA films of a film list: a Radiopaedia or upper-limb film is kept when its by-eye view
(docs/eval/real-films) is a PA hand, wrist or finger film, or two views one of them PA; any
other film of those sets (oblique, lateral, thumb series, a view not named) is dropped; films
of other sets (RSNA, the MURA examples) are kept. Run v15 (models/training/README.md).

  python3 models/training/experiments/pa_film_list.py /tmp/jsd/real-train.txt > /tmp/jsd/real-train-pa.txt
"""
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LISTS = [os.path.join(HERE, "../../../docs/eval/real-films", f) for f in ("arm-hands-views-by-eye.csv", "radiopaedia-views-by-eye.csv")]
PA = ("hand, PA", "wrist, PA", "finger(s), PA", "fingers and MCPs, PA", "two views, one a PA hand", "two views, wrist PA")
NAMED_SETS = ("adult-hands-radiopaedia", "arm-films")

views = {r["file"]: r["shows"] for f in LISTS for r in csv.DictReader(open(f))}
for line in open(sys.argv[1]):
    path = line.strip()
    if not path:
        continue
    if any(s in path for s in NAMED_SETS) and not views.get(os.path.basename(path), "").startswith(PA):
        continue
    print(path)
