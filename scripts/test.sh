#!/usr/bin/env bash
# Runs the vitest suite (arguments go to vitest: file filters, -t, --reporter, ...) inside a
# private network namespace whose only interface is loopback, so that peers the tests start
# (Orthanc, storescp: both bind all interfaces) are unreachable from outside and no test can
# reach any non-loopback address.
#
#   bash scripts/test.sh                      # whole suite ("vitest run")
#   bash scripts/test.sh test/orthanc.test.ts # one file
#   bash scripts/test.sh watch                # a vitest subcommand as the first argument is kept
#
# How: `unshare --net` as root, else `unshare --map-root-user --net` (an unprivileged user
# namespace) where the kernel allows it; with a PID namespace too where possible (--pid --fork
# --mount-proc --kill-child), so that nothing the tests started outlives the run. Inside,
# `ip link set lo up` (or, without iproute2, the same ioctl from python3), then a check that
# lo is the only interface. If no namespace can be made, vitest runs directly, after one line
# on stderr saying that the run is NOT network-isolated.
#   JOINTSCORE_TEST_NETNS=require  fail (exit 3) instead of running without isolation (CI)
#   JOINTSCORE_TEST_NETNS=off      never isolate
# Runs from the repository root; vitest's exit status is the script's. Note: unshare --fork
# ignores SIGTERM/SIGINT sent to it alone; Ctrl-C (the process group) or SIGKILL end the run.
# Inside the namespace JOINTSCORE_TEST_ISOLATED=1 is set for the tests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

vitest=(node node_modules/vitest/vitest.mjs)
if [ ! -f node_modules/vitest/vitest.mjs ]; then vitest=(npx --no-install vitest); fi
case "${1:-}" in
  run|watch|dev|related|bench|list) ;;
  *) set -- run "$@" ;;
esac

mode="${JOINTSCORE_TEST_NETNS:-auto}"

# pynetdicom (a test peer) installs console scripts named like DCMTK's tools (storescu,
# storescp, echoscu, findscu, getscu, movescu) into a folder that comes before /usr/bin on
# PATH. The tests mean DCMTK's: put links to them first.
# (one folder of links under node_modules/.cache, made again each run: the script ends in
# exec, so a temporary folder could never be removed)
dcmtk_first="$PWD/node_modules/.cache/jointscore-dcmtk-first"
rm -rf "$dcmtk_first" && mkdir -p "$dcmtk_first"
for tool in storescu storescp echoscu findscu getscu movescu; do
  if [ -x "/usr/bin/$tool" ]; then ln -s "/usr/bin/$tool" "$dcmtk_first/$tool"; fi
done
export PATH="$dcmtk_first:$PATH"

not_isolated() {
  local why="$1"
  shift
  if [ "$mode" = require ]; then
    echo "scripts/test.sh: cannot make a private network namespace ($why) and JOINTSCORE_TEST_NETNS=require" >&2
    exit 3
  fi
  echo "scripts/test.sh: NOT network-isolated ($why): tests run in the host's network namespace; peers they start listen on all interfaces" >&2
  exec "${vitest[@]}" "$@"
}

if [ "$mode" = off ]; then
  echo "scripts/test.sh: NOT network-isolated (JOINTSCORE_TEST_NETNS=off)" >&2
  exec "${vitest[@]}" "$@"
fi

if ! command -v unshare >/dev/null 2>&1; then not_isolated "no unshare (util-linux)" "$@"; fi
if ! command -v ip >/dev/null 2>&1 && ! command -v python3 >/dev/null 2>&1; then
  not_isolated "neither ip (iproute2) nor python3 to bring loopback up" "$@"
fi

# Which unshare works here? (A container without CAP_SYS_ADMIN refuses even root.) Besides the
# network, a PID namespace when possible: when the suite ends, or this script is killed
# (--kill-child), the kernel kills everything left in it, e.g. an Orthanc whose test worker died.
pidns=(--pid --fork --mount-proc)
case "$(unshare --help 2>/dev/null)" in *--kill-child*) pidns+=(--kill-child) ;; esac
candidates=()
if [ "$(id -u)" = 0 ]; then candidates+=("--net ${pidns[*]}" "--net"); fi
candidates+=("--map-root-user --net ${pidns[*]}" "--map-root-user --net")
unshare_args=()
for c in "${candidates[@]}"; do
  read -r -a try <<<"$c"
  if unshare "${try[@]}" -- true 2>/dev/null; then unshare_args=("${try[@]}"); break; fi
done
if [ ${#unshare_args[@]} -eq 0 ]; then
  if [ "$(id -u)" = 0 ]; then why="unshare --net refused"; else why="not root, and unshare --map-root-user --net refused"; fi
  not_isolated "$why" "$@"
fi

# Inside: bring loopback up, check that it is the only interface, then run vitest as a child
# (not exec: with a PID namespace this bash is its init, and must outlive vitest).
exec unshare "${unshare_args[@]}" -- bash -c '
  set -uo pipefail
  if command -v ip >/dev/null 2>&1; then
    ip link set lo up || { echo "scripts/test.sh: ip link set lo up failed in the namespace" >&2; exit 3; }
  else
    # no iproute2: SIOCGIFFLAGS / SIOCSIFFLAGS with IFF_UP on "lo"
    python3 -c "
import fcntl, socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack(\"16sH\", fcntl.ioctl(s, 0x8913, struct.pack(\"16sH\", b\"lo\", 0)))[1]
fcntl.ioctl(s, 0x8914, struct.pack(\"16sH\", b\"lo\", flags | 1))
" || { echo "scripts/test.sh: could not bring lo up in the namespace (python3 ioctl)" >&2; exit 3; }
  fi
  # /proc/net/dev lists the interfaces of this namespace
  others=$(awk -F: "NR > 2 { gsub(/ /, \"\", \$1); if (\$1 != \"lo\") print \$1 }" /proc/net/dev)
  if [ -n "$others" ]; then echo "scripts/test.sh: unexpected interfaces in the namespace: $others" >&2; exit 3; fi
  export JOINTSCORE_TEST_ISOLATED=1
  "$@"
  rc=$?
  exit "$rc"
' test-netns "${vitest[@]}" "$@"
