#!/usr/bin/env bash
# Shows what a PACS makes of our results: starts Orthanc (Debian's package) on loopback in a
# private network namespace, stores a source radiograph and the result objects that
# `jointscore analyze --out` wrote for it (DCMTK storescu), prints the study's series as
# Orthanc lists them, and saves Orthanc's own PNG preview of the Secondary Capture.
#
#   scripts/orthanc-preview.sh SOURCE.dcm RESULTS_DIR OUT.png
#
# RESULTS_DIR holds <name>.sr.dcm, <name>.sc.dcm and <name>.pr.dcm. Needs root (unshare -n).
set -euo pipefail
if [ "${JOINTSCORE_IN_NETNS:-}" != 1 ]; then
  exec unshare -n env JOINTSCORE_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
source_file=$1 results=$2 out=$3
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/config.json" <<JSON
{ "Name": "jointscore-preview", "StorageDirectory": "$work/db", "IndexDirectory": "$work/db",
  "DicomAet": "ORTHANC", "DicomPort": 4242, "HttpPort": 8042, "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false, "Plugins": [], "StorageCompression": false }
JSON
Orthanc "$work/config.json" --logfile="$work/orthanc.log" &
pid=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:8042/system >/dev/null && break; sleep 0.2; done
storescu -R -aec ORTHANC 127.0.0.1 4242 "$source_file" "$results"/*.dcm
study=$(curl -sf http://127.0.0.1:8042/studies | python3 -c 'import json,sys; print(json.load(sys.stdin)[0])')
curl -sf "http://127.0.0.1:8042/studies/$study/series?expand" | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    t = s["MainDicomTags"]
    print("series %5s %-3s %d instance(s)  %s" % (t.get("SeriesNumber", ""), t.get("Modality", ""), len(s["Instances"]), t.get("SeriesDescription", "")))'
sc=
for id in $(curl -sf "http://127.0.0.1:8042/studies/$study/instances" | python3 -c 'import json,sys; print(" ".join(i["ID"] for i in json.load(sys.stdin)))'); do
  cls=$(curl -sf "http://127.0.0.1:8042/instances/$id/metadata/SopClassUid")
  if [ "$cls" = 1.2.840.10008.5.1.4.1.1.7 ]; then sc=$id; fi
done
[ -n "$sc" ] || { echo "no Secondary Capture in the study" >&2; exit 1; }
curl -sf "http://127.0.0.1:8042/instances/$sc/preview" -o "$out"
echo "Orthanc's preview of the Secondary Capture: $out"
