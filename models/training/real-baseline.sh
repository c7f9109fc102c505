#!/usr/bin/env bash
# The shipped grader's real-film figures (issue 9), restored on a fresh machine in one command:
# the film lists, the crop sets the node's own detector and preprocessing cut, the shipped
# calibration, and eval_real_disease.py on the held-out test and calibration films. Every
# figure of docs/evaluation.md's "Real film" sections that names /tmp/jsd, /tmp/s23 or
# /tmp/prior-0.10.1.json reads these (gate-test, gate-cal, real-train, ra-crops, prior.json). Then
# the RA wrists' crop-level AUCs (experiments/wrist_jsn_ra.py).
#
#   npx tsc -p . && bash models/training/real-baseline.sh [../shared/real] [/tmp/jsd]
#
# Needs Debian's python3-torch and numpy (PY, default /usr/bin/python3). About 10 minutes on
# 2 cores; the crop sets are kept where they exist (delete the folder to cut them again).
set -euo pipefail
cd "$(dirname "$0")/../.."
R=$(cd "${1:-../shared/real}" && pwd)
D=${2:-/tmp/jsd}
PY=${PY:-/usr/bin/python3}
REPEATS=${REPEATS:-32}
mkdir -p "$D"

# held out: every 2nd Radiopaedia film (sorted by name) and the four labelled RSNA crops; of
# those the odd lines chose the prior weights (calibration), the even lines are the test.
# Training: the other Radiopaedia films, the upper-limb films, the whole RSNA films, MURA's examples
{ ls "$R/adult-hands-radiopaedia" | sort | awk 'NR%2==0' | sed "s|^|$R/adult-hands-radiopaedia/|"; ls "$R"/shsnet_test_*.png; } > "$D/heldout.txt"
awk 'NR%2==1' "$D/heldout.txt" > "$D/cal-films.txt"
awk 'NR%2==0' "$D/heldout.txt" > "$D/test-films.txt"
{ ls "$R/adult-hands-radiopaedia" | sort | awk 'NR%2==1' | sed "s|^|$R/adult-hands-radiopaedia/|"; ls "$R"/arm-films-mura-yolo/images/*; \
  ls "$R"/shsnet_train_*.png "$R"/mura_example_*.png; } > "$D/real-train.txt"
ls "$R"/adult-ra-wrists/*.png > "$D/ra-list.txt"

crops() { # <set> <list> [real_crops.mjs options]
  local set=$1 list=$2; shift 2
  [ -d "$D/$set" ] || node models/training/real_crops.mjs --out "$D/$set" --list "$list" "$@"
}
crops gate-test "$D/test-films.txt" --jitters 1
crops gate-cal "$D/cal-films.txt" --jitters 1
crops real-train "$D/real-train.txt"
crops ra-crops "$D/ra-list.txt" --jitters 1

# the shipped calibration, in the form calibrate_prior.py writes it
node -e "const m = require('./models/jointscore-grader/manifest.json'); process.stdout.write(JSON.stringify(m.calibration, null, 1))" > "$D/prior.json"

W=models/training/runs
M="$W/grader-v12/model.pt $W/grader-v13/last.pt $W/grader-v14/last.pt"
WRIST="--wrist-jsn-ckpt $W/grader-v22/last.pt --wrist-erosion-ckpt $W/grader-v21/last.pt"
for set in gate-test gate-cal; do
  # shellcheck disable=SC2086
  "$PY" models/training/eval_real_disease.py --ckpt $M $WRIST --crops "$D/$set" --prior-weights "$D/prior.json" \
    --repeats "$REPEATS" --per-crop > "$D/eval-$set.json"
done
"$PY" - "$D/eval-gate-test.json" "$D/eval-gate-cal.json" <<'PY'
import json, sys
pct = lambda x: f"{100 * x:.1f} %"
# issue 9's expert-scored RA films hold 76 % JSN 0: normal and written joints weighted so (docs/evaluation.md "Within one grade")
ZEROS = 0.76
print("| held-out crops | normal joints called | written JSN 2-4 called; exact; within one | written erosions called: fingers; thumbs; wrist bones (all) | written OA called | AUC narrowing / erosion / OA | JSN weighted as RA films: exact; within one |")
print("|---|---:|---:|---:|---:|---:|---:|")
for f in sys.argv[1:]:
    r = json.load(open(f)); e = r["erosion_by_part"]
    print(f"| {f.split('eval-')[-1][:-5]} ({r['crops']}) | {pct(r['healthy_called_mild_or_severe'])} | "
          f"{pct(r['narrowed_jsn2plus_called_mild_or_severe'])}; {pct(r['narrowed_exact_jsn'])}; {pct(r['narrowed_jsn_within_one'])} | "
          f"{pct(e['hand']['eroded_called'])}; {pct(e['thumb']['eroded_called'])}; {pct(e['wrist']['eroded_called'])} ({pct(r['eroded_called'])}) | "
          f"{pct(r['osteoarthritis_called'])} | {r['auc_narrowed_vs_normal']:.3f} / {r['auc_eroded_vs_normal']:.3f} / {r['auc_osteoarthritis_vs_normal']:.3f} | "
          f"{ZEROS * (1 - r['healthy_called_by_score']['jsn']) + (1 - ZEROS) * r['narrowed_exact_jsn']:.3f}; "
          f"{ZEROS * r['healthy_jsn_within_one'] + (1 - ZEROS) * r['narrowed_jsn_within_one']:.3f} |")
PY

# the RA wrists read as partial views (19 of 25), scored by the wrist members: the largest expected
# wrist JSN and wrist-bone erosion of each film, erosive against not (real-check's figure is the node's, end to end)
for score in jsn erosion; do
  # shellcheck disable=SC2086
  "$PY" models/training/experiments/wrist_jsn_ra.py --crops "$D/ra-crops" --labels "$R/adult-ra-wrists/labels.csv" \
    --ckpt $M $WRIST --prior-weights "$D/prior.json" --score "$score" > "$D/ra-$score.json"
done
"$PY" - "$D/ra-jsn.json" "$D/ra-erosion.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    r = json.load(open(f)); auc = next(k for k in r if k.startswith("auc_max_expected"))
    called = r["films_with_a_wrist_site_called"]
    print(f"RA wrists ({r['films']} read, {r['erosive']} erosive): {auc} {r[auc]:.3f}; a wrist site called on "
          f"{called['erosive']} erosive, {called['non-erosive']} non-erosive")
PY
