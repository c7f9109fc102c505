#!/usr/bin/env python3
"""The real films the view classifier is measured on, as view_crops.mjs reads them
(path,label): 1 for a hand in an oblique or lateral view, 0 for a PA hand (alone or beside
another view), from the committed lists of docs/eval/real-films/ (views named by eye), and
the RSNA films and the MURA example of ../shared/real as PA hands. Other films are left out.

  python3 models/training/view_real_list.py ../shared/real > /tmp/view/real.csv
"""
import csv
import glob
import os
import sys

real = sys.argv[1]
rows = []
for folder, listed in [('adult-hands-radiopaedia', 'radiopaedia-views-by-eye.csv'), ('arm-films-mura-yolo/images', 'arm-hands-views-by-eye.csv')]:
    for r in csv.DictReader(open(os.path.join(os.path.dirname(__file__), '../../docs/eval/real-films', listed))):
        shows = r['shows']
        if ('oblique' in shows or 'lateral' in shows) and 'PA' not in shows and shows.startswith('hand'):
            rows.append((os.path.join(real, folder, r['file']), 1))
        elif 'hand, PA' in shows or 'one a PA hand' in shows:
            rows.append((os.path.join(real, folder, r['file']), 0))
for f in sorted(glob.glob(os.path.join(real, 'shsnet_*.png'))) + [os.path.join(real, 'mura_example_HAND.png')]:
    rows.append((f, 0))
for path, label in rows:
    print(f'{path},{label}')
