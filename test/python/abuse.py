#!/usr/bin/env python3
"""Protocol abuse against a DICOM Storage SCP, on raw sockets.

An implementation of the DICOM upper layer (PS3.8 9.3) independent of the node's own code
(dcmjs-dimse) and of any DICOM toolkit: standard library only, so that it runs under any
python3. Each sub-command plays one scenario and prints ONE JSON line on stdout with what it
observed (what the peer answered, when it closed the connection); `idle` also writes
`READY` on stderr once its connections are open. Nothing is asserted here: the test that
runs it (test/protocol-abuse-python.test.ts) judges.

    abuse.py --port 11112 double-rq --count 10
    abuse.py --port 11112 cut --count 300 --mode mixed
    abuse.py --port 11112 huge --claim 4294967295
    abuse.py --port 11112 slowloris --interval 1.5 --max-seconds 15
    abuse.py --port 11112 idle --count 48 --hold 7
    abuse.py --port 11112 hold --count 2 --hold 6
    abuse.py write-dicom tiny.dcm          # a small, complete CR object for a legitimate sender
"""

import argparse
import errno
import json
import select
import socket
import struct
import sys
import time

VERIFICATION = "1.2.840.10008.1.1"
CR_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
APP_CONTEXT = "1.2.840.10008.3.1.1.1"
IMPL_CLASS_UID = "1.2.826.0.1.3680043.10.999.1"
UID_ROOT = "1.2.826.0.1.3680043.10.999.7"

PDU_NAMES = {1: "A-ASSOCIATE-RQ", 2: "A-ASSOCIATE-AC", 3: "A-ASSOCIATE-RJ", 4: "P-DATA-TF",
             5: "A-RELEASE-RQ", 6: "A-RELEASE-RP", 7: "A-ABORT"}


def now():
    return time.monotonic()


def ms(seconds):
    return round(seconds * 1000, 1)


# ---------------------------------------------------------------------------------------
# PDUs (PS3.8 9.3)

def uid_bytes(uid):
    b = uid.encode("ascii")
    return b + b"\0" if len(b) % 2 else b


def item(kind, body):
    return struct.pack(">BBH", kind, 0, len(body)) + body


def pdu(kind, body):
    return struct.pack(">BBI", kind, 0, len(body)) + body


def ae_title(name):
    return name.encode("ascii")[:16].ljust(16, b" ")


# presentation context id -> (abstract syntax, transfer syntaxes proposed)
CONTEXTS = {
    1: (VERIFICATION, [IMPLICIT_LE]),
    3: (CR_STORAGE, [EXPLICIT_LE, IMPLICIT_LE]),
    5: (DX_STORAGE, [EXPLICIT_LE, IMPLICIT_LE]),
}


def associate_rq(called, calling, max_pdu=16384):
    items = item(0x10, APP_CONTEXT.encode("ascii"))
    for pcid, (abstract, syntaxes) in CONTEXTS.items():
        sub = item(0x30, abstract.encode("ascii"))
        for ts in syntaxes:
            sub += item(0x40, ts.encode("ascii"))
        items += item(0x20, struct.pack(">BBBB", pcid, 0, 0, 0) + sub)
    user = item(0x51, struct.pack(">I", max_pdu)) + item(0x52, IMPL_CLASS_UID.encode("ascii")) + item(0x55, b"ABUSE_PY")
    items += item(0x50, user)
    body = struct.pack(">HH", 1, 0) + ae_title(called) + ae_title(calling) + b"\0" * 32 + items
    return pdu(0x01, body)


def parse_ac(body):
    """Accepted presentation contexts {pcid: transfer syntax} and the peer's max PDU length."""
    accepted, max_pdu = {}, None
    at = 68  # version, reserved, called, calling, reserved
    while at + 4 <= len(body):
        kind, _, length = struct.unpack(">BBH", body[at:at + 4])
        value = body[at + 4:at + 4 + length]
        if kind == 0x21 and len(value) >= 4:
            pcid, result = value[0], value[2]
            ts = None
            if len(value) >= 8 and value[4] == 0x40:
                (ts_len,) = struct.unpack(">H", value[6:8])
                ts = value[8:8 + ts_len].rstrip(b"\0 ").decode("ascii", "replace")
            if result == 0:
                accepted[pcid] = ts
        elif kind == 0x50:
            sub = 0
            while sub + 4 <= len(value):
                skind, _, slen = struct.unpack(">BBH", value[sub:sub + 4])
                if skind == 0x51 and slen == 4:
                    (max_pdu,) = struct.unpack(">I", value[sub + 4:sub + 8])
                sub += 4 + slen
        at += 4 + length
    return accepted, max_pdu


def p_data(pcid, payload, command, last, claimed=None):
    header = (1 if command else 0) | (2 if last else 0)
    pdv = struct.pack(">IBB", len(payload) + 2, pcid, header) + payload
    return struct.pack(">BBI", 0x04, 0, len(pdv) if claimed is None else claimed) + pdv


def a_abort(source=0, reason=0):
    return pdu(0x07, struct.pack(">BBBB", 0, 0, source, reason))


def a_release_rq():
    return pdu(0x05, b"\0\0\0\0")


def element_implicit(group, elem, value):
    return struct.pack("<HHI", group, elem, len(value)) + value


def c_store_rq(sop_class, sop_instance, message_id=1):
    """A C-STORE-RQ command set (always Implicit VR Little Endian, PS3.7 6.3.1)."""
    rest = b"".join([
        element_implicit(0x0000, 0x0002, uid_bytes(sop_class)),
        element_implicit(0x0000, 0x0100, struct.pack("<H", 0x0001)),
        element_implicit(0x0000, 0x0110, struct.pack("<H", message_id)),
        element_implicit(0x0000, 0x0700, struct.pack("<H", 0)),
        element_implicit(0x0000, 0x0800, struct.pack("<H", 0x0000)),  # a data set follows
        element_implicit(0x0000, 0x1000, uid_bytes(sop_instance)),
    ])
    return element_implicit(0x0000, 0x0000, struct.pack("<I", len(rest))) + rest


def element_explicit(group, elem, vr, value):
    if vr in ("OB", "OW", "SQ", "UN", "UT"):
        return struct.pack("<HH2sHI", group, elem, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr.encode(), len(value)) + value


def text(value):
    b = value.encode("ascii")
    return b + b" " if len(b) % 2 else b


def dataset_start(explicit, sop_class, sop_instance, pixel_bytes):
    """The start of a radiograph's data set: identification, then Pixel Data announced at
    `pixel_bytes` (only part of which will ever be sent)."""
    if explicit:
        return b"".join([
            element_explicit(0x0008, 0x0016, "UI", uid_bytes(sop_class)),
            element_explicit(0x0008, 0x0018, "UI", uid_bytes(sop_instance)),
            element_explicit(0x0008, 0x0060, "CS", text("DX")),
            element_explicit(0x0018, 0x0015, "CS", text("HAND")),
            element_explicit(0x0028, 0x0010, "US", struct.pack("<H", 2048)),
            element_explicit(0x0028, 0x0011, "US", struct.pack("<H", 2048)),
            struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, pixel_bytes),
        ])
    return b"".join([
        element_implicit(0x0008, 0x0016, uid_bytes(sop_class)),
        element_implicit(0x0008, 0x0018, uid_bytes(sop_instance)),
        element_implicit(0x0008, 0x0060, text("DX")),
        element_implicit(0x0018, 0x0015, text("HAND")),
        element_implicit(0x0028, 0x0010, struct.pack("<H", 2048)),
        element_implicit(0x0028, 0x0011, struct.pack("<H", 2048)),
        struct.pack("<HHI", 0x7FE0, 0x0010, pixel_bytes),
    ])


# ---------------------------------------------------------------------------------------
# A connection and what it receives


class Peer:
    """One TCP connection to the SCP, with the PDUs it has received and how it ended."""

    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened = now()
        self.buf = b""
        self.pdus = []  # (type, body)
        self.ended = None  # 'eof' or 'reset' once the SCP has ended the connection
        self.ended_at = None

    def send(self, data):
        """False when the connection is already gone (reset / broken pipe)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self._end("reset")
            return False
        except OSError as err:
            if err.errno in (errno.EPIPE, errno.ECONNRESET):
                self._end("reset")
                return False
            raise

    def _end(self, how):
        if self.ended is None:
            self.ended, self.ended_at = how, now()

    def pump(self, timeout):
        """Reads what is there (waiting up to `timeout` s for the first byte); parses PDUs."""
        if self.ended:
            return
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not ready:
            return
        try:
            data = self.sock.recv(1 << 16)
        except (ConnectionResetError, ConnectionAbortedError):
            self._end("reset")
            return
        except socket.timeout:
            return
        if not data:
            self._end("eof")
            return
        self.buf += data
        while len(self.buf) >= 6:
            kind, _, length = struct.unpack(">BBI", self.buf[:6])
            if len(self.buf) < 6 + length:
                break
            self.pdus.append((kind, self.buf[6:6 + length]))
            self.buf = self.buf[6 + length:]

    def wait_pdu(self, kinds, timeout):
        """The first received PDU whose type is in `kinds`, waiting up to `timeout` s."""
        until = now() + timeout
        seen = 0
        while True:
            for kind, body in self.pdus[seen:]:
                if kind in kinds:
                    return kind, body
            seen = len(self.pdus)
            if self.ended or now() >= until:
                return None
            self.pump(until - now())

    def wait_end(self, timeout):
        until = now() + timeout
        while not self.ended and now() < until:
            self.pump(until - now())
        return self.ended

    def types(self):
        return [PDU_NAMES.get(k, hex(k)) for k, _ in self.pdus]

    def close(self, reset=False):
        try:
            if reset:
                # SO_LINGER 0: close() sends RST, as a crashed or killed sender would
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass


def associate(args, calling):
    """A connection with an accepted association; (peer, accepted contexts) or (peer, None)."""
    peer = Peer(args.host, args.port)
    peer.send(associate_rq(args.called, calling))
    got = peer.wait_pdu({2, 3, 7}, args.timeout)
    if not got or got[0] != 2:
        return peer, None
    accepted, _ = parse_ac(got[1])
    return peer, accepted


def emit(result):
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------
# Scenarios


def cmd_double_rq(args):
    """A-ASSOCIATE-RQ, A-ASSOCIATE-AC, then a second A-ASSOCIATE-RQ on the same connection:
    PS3.8 9.2 (state Sta6, event Evt6) calls for an A-ABORT and the end of the connection."""
    out = {"scenario": "double-rq", "count": args.count, "accepted": 0, "aborted": 0,
           "closed_by_node": 0, "answers": {}, "max_close_ms": 0.0}
    for i in range(args.count):
        peer, accepted = associate(args, "DOUBLERQ")
        if accepted is None:
            key = "first RQ answered: " + (",".join(peer.types()) or "nothing")
            out["answers"][key] = out["answers"].get(key, 0) + 1
            peer.close()
            continue
        out["accepted"] += 1
        before = len(peer.pdus)
        sent = now()
        peer.send(associate_rq(args.called, "DOUBLERQ"))
        ended = peer.wait_end(args.timeout)
        answer = ",".join(PDU_NAMES.get(k, hex(k)) for k, _ in peer.pdus[before:]) or "nothing"
        key = f"{answer}; {ended or 'left open'}"
        out["answers"][key] = out["answers"].get(key, 0) + 1
        if any(k == 7 for k, _ in peer.pdus[before:]):
            out["aborted"] += 1
        if ended:
            out["closed_by_node"] += 1
            out["max_close_ms"] = max(out["max_close_ms"], ms(peer.ended_at - sent))
        peer.close()
    emit(out)


def cmd_cut(args):
    """Transfers cut off mid-object: association, C-STORE-RQ command, the start of the data
    set, then (rotating in `mixed` mode):
      close - a P-DATA cut inside its PDU (header promises more), then close (FIN);
      reset - the same, then close with RST (SO_LINGER 0), as a killed sender;
      abort - a whole but not last data fragment, then A-ABORT with the socket left open:
              the SCP should close the connection (PS3.8 9.2, AA-3)."""
    modes = ["close", "reset", "abort"] if args.mode == "mixed" else [args.mode]
    out = {"scenario": "cut", "count": args.count, "mode": args.mode, "accepted": 0, "not_accepted": 0,
           "by_mode": {m: 0 for m in modes}, "answers_before_cut": {}, "abort_closed_by_node": 0,
           "abort_left_open": 0, "abort_max_close_ms": 0.0, "bytes_sent": 0}
    held = []  # (peer, abort sent at): aborted connections, waiting for the SCP to close them
    started = now()

    def reap(timeout):
        """Collects the SCP's closes of aborted connections."""
        until = now() + timeout
        while held:
            socks = {p.sock: (p, t) for p, t in held}
            ready, _, _ = select.select(list(socks), [], [], max(0.0, until - now()))
            for s in ready:
                p, t = socks[s]
                p.pump(0)
                if p.ended:
                    out["abort_closed_by_node"] += 1
                    out["abort_max_close_ms"] = max(out["abort_max_close_ms"], ms(p.ended_at - t))
                    p.close()
                    held.remove((p, t))
            if now() >= until:
                break

    for i in range(args.count):
        mode = modes[i % len(modes)]
        peer, accepted = associate(args, "CUTOFF")
        pcid = next((p for p in (5, 3) if accepted and p in accepted), None)
        if pcid is None:
            out["not_accepted"] += 1
            peer.close()
            continue
        out["accepted"] += 1
        out["by_mode"][mode] += 1
        sop_class = CONTEXTS[pcid][0]
        instance = f"{UID_ROOT}.{int(time.time())}.{i + 1}"
        explicit = accepted[pcid] == EXPLICIT_LE
        data = dataset_start(explicit, sop_class, instance, 2048 * 2048 * 2) + bytes(range(256)) * (args.fragment // 256)
        wire = p_data(pcid, c_store_rq(sop_class, instance, i + 1), True, True) + p_data(pcid, data, False, False)
        if mode == "abort":
            wire += a_abort()
        else:
            # the next fragment's PDU promises 16 KB more; 4 KB arrive, then the cable is pulled
            wire += p_data(pcid, b"\x55" * 4096, False, False, claimed=16384 + 6)
        peer.send(wire)
        out["bytes_sent"] += len(wire)
        peer.pump(0)
        for t in peer.types()[1:]:
            out["answers_before_cut"][t] = out["answers_before_cut"].get(t, 0) + 1
        if mode == "abort":
            held.append((peer, now()))
            reap(0)
        else:
            if args.linger > 0:
                time.sleep(args.linger)
            peer.close(reset=(mode == "reset"))
    reap(args.abort_wait)
    out["abort_left_open"] = len(held)
    for p, _ in held:
        p.close()
    out["seconds"] = round(now() - started, 2)
    emit(out)


def cmd_huge(args):
    """A PDU whose header claims `claim` bytes (4 GB by default), then its body streamed in
    64 KB chunks: the SCP should end the connection at the header, long before `max_send`."""
    out = {"scenario": "huge", "claim": args.claim, "phase": args.phase, "pdu_type": args.pdu_type}
    if args.phase == "after-association":
        peer, accepted = associate(args, "HUGEPDU")
        out["associated"] = accepted is not None
        if accepted is None:
            out["answers"] = peer.types()
            peer.close()
            emit(out)
            return
        pcid = next(iter(accepted))
    else:
        peer, pcid = Peer(args.host, args.port), 1
    before = len(peer.pdus)
    # the header, and the start of one PDV that would fill it
    head = struct.pack(">BBI", args.pdu_type, 0, args.claim) + struct.pack(">IBB", args.claim - 4, pcid, 0)
    sent_at = now()
    body_sent = 0
    chunk = b"\x01" * 65536
    ok = peer.send(head)
    deadline = sent_at + args.max_seconds
    while ok and body_sent < args.max_send and now() < deadline:
        peer.pump(0)
        if peer.ended:
            break
        # wait until the socket takes more (a stalled reader leaves it full) or the peer ends
        r, w, _ = select.select([peer.sock], [peer.sock], [], max(0.0, deadline - now()))
        if r:
            peer.pump(0)
            if peer.ended:
                break
        if w:
            try:
                n = peer.sock.send(chunk)
                body_sent += n
            except (BrokenPipeError, ConnectionResetError):
                peer._end("reset")
                break
            except socket.timeout:
                pass
    if not peer.ended:
        peer.wait_end(max(0.0, deadline - now()))
    out.update({
        "body_bytes_sent": body_sent,
        "answers": [PDU_NAMES.get(k, hex(k)) for k, _ in peer.pdus[before:]],
        "ended": peer.ended or "left open",
        "ended_after_ms": ms(peer.ended_at - sent_at) if peer.ended else None,
    })
    peer.close()
    emit(out)


def cmd_slowloris(args):
    """After the association, a P-DATA trickled one byte every `interval` s: never idle long
    enough for an idle timer; only a whole-association deadline ends it."""
    out = {"scenario": "slowloris", "interval_s": args.interval}
    peer, accepted = associate(args, "SLOWLORIS")
    out["associated"] = accepted is not None
    if accepted is None:
        out["answers"] = peer.types()
        peer.close()
        emit(out)
        return
    accepted_at = now()
    before = len(peer.pdus)
    pcid = next(iter(accepted))
    stream = p_data(pcid, c_store_rq(CR_STORAGE, f"{UID_ROOT}.{int(time.time())}.0"), True, True)
    trickled = 0
    while not peer.ended and now() - accepted_at < args.max_seconds:
        if not peer.send(stream[trickled % len(stream):trickled % len(stream) + 1]):
            break
        trickled += 1
        next_at = accepted_at + trickled * args.interval
        while not peer.ended and now() < next_at:
            peer.pump(next_at - now())
    out.update({
        "bytes_trickled": trickled,
        "answers": [PDU_NAMES.get(k, hex(k)) for k, _ in peer.pdus[before:]],
        "ended": peer.ended or "left open",
        "cut_after_s": round(peer.ended_at - accepted_at, 3) if peer.ended else None,
    })
    peer.close()
    emit(out)


def cmd_idle(args):
    """`count` TCP connections held open: half silent, half with an A-ASSOCIATE-RQ stalled
    after its first bytes (the header promises the rest). Writes READY on stderr once all
    are open, then watches for `hold` s when the SCP closes them."""
    out = {"scenario": "idle", "count": args.count, "opened": 0, "refused": 0}
    peers = []
    rq = associate_rq(args.called, "IDLER")
    for i in range(args.count):
        try:
            p = Peer(args.host, args.port)
        except OSError as err:
            out["refused"] += 1
            out["refused_error"] = str(err)
            continue
        p.kind = "stalled-rq" if i % 2 else "silent"
        if p.kind == "stalled-rq":
            p.send(rq[:24])
        peers.append(p)
    out["opened"] = len(peers)
    opened_at = now()
    sys.stderr.write("READY\n")
    sys.stderr.flush()
    until = opened_at + args.hold
    while now() < until:
        live = {p.sock: p for p in peers if not p.ended}
        if not live:
            break
        ready, _, _ = select.select(list(live), [], [], max(0.0, until - now()))
        for s in ready:
            live[s].pump(0)
    for kind in ("silent", "stalled-rq"):
        group = [p for p in peers if p.kind == kind]
        closed = [p.ended_at - p.opened for p in group if p.ended]
        out[kind] = {
            "count": len(group),
            "closed_by_node": len(closed),
            "min_close_s": round(min(closed), 2) if closed else None,
            "max_close_s": round(max(closed), 2) if closed else None,
            "answers": sorted({t for p in group for t in p.types()}),
        }
    out["still_open"] = sum(1 for p in peers if not p.ended)
    for p in peers:
        p.close()
    emit(out)


def cmd_hold(args):
    """`count` accepted associations that then say nothing and ignore whatever the SCP does:
    no answer to its A-ABORT, no close after its FIN. Writes READY on stderr once all are
    associated. When the SCP ends one, a byte is sent 0.2 s later and again 0.4 s later: a
    connection the SCP closed answers with a reset, one it only half-closed (FIN sent,
    socket kept) takes the bytes, and still holds whatever the SCP keeps for it."""
    out = {"scenario": "hold", "count": args.count, "associated": 0}
    peers = []
    for _ in range(args.count):
        peer, accepted = associate(args, "HOLDER")
        if accepted is None:
            out.setdefault("not_associated", []).append(peer.types() or ["nothing"])
            peer.close()
            continue
        peer.associated_at = now()
        peer.probes = 0
        peer.state = "open"
        peers.append(peer)
    out["associated"] = len(peers)
    sys.stderr.write("READY\n")
    sys.stderr.flush()
    until = now() + args.hold
    while now() < until:
        for p in peers:
            p.pump(0)
            if p.ended and p.state == "open":
                p.state = "ended"
            if p.state == "ended" and p.probes < 2 and now() - p.ended_at >= 0.2 * (p.probes + 1):
                p.probes += 1
                try:
                    p.sock.sendall(b"\0")
                except OSError:
                    p.state = "closed"
                if p.probes == 2 and p.state == "ended":
                    # a reset answering the first probe shows on this second send or on a read
                    try:
                        p.sock.recv(1)
                    except OSError:
                        p.state = "closed"
                    else:
                        p.state = "half-open"
        time.sleep(0.02)
    out["peers"] = [{
        "answers": p.types()[1:],
        "ended": p.ended or "left open",
        "ended_after_s": round(p.ended_at - p.associated_at, 2) if p.ended else None,
        "state": p.state,
    } for p in peers]
    for p in peers:
        p.close()
    emit(out)


def cmd_write_dicom(args):
    """A small but complete CR object (Part 10, Explicit VR Little Endian) for storescu:
    64 x 64, 16 bits, Body Part CHEST (stored, then skipped by the node's hand selection)."""
    instance = f"{UID_ROOT}.{int(time.time() * 1000)}"
    meta_rest = b"".join([
        element_explicit(0x0002, 0x0001, "OB", b"\0\1"),
        element_explicit(0x0002, 0x0002, "UI", uid_bytes(CR_STORAGE)),
        element_explicit(0x0002, 0x0003, "UI", uid_bytes(instance)),
        element_explicit(0x0002, 0x0010, "UI", uid_bytes(EXPLICIT_LE)),
        element_explicit(0x0002, 0x0012, "UI", uid_bytes(IMPL_CLASS_UID)),
    ])
    meta = element_explicit(0x0002, 0x0000, "UL", struct.pack("<I", len(meta_rest))) + meta_rest
    rows = cols = 64
    pixels = b"".join(struct.pack("<H", (x * 37 + y * 11) % 4096) for y in range(rows) for x in range(cols))
    ds = b"".join([
        element_explicit(0x0008, 0x0016, "UI", uid_bytes(CR_STORAGE)),
        element_explicit(0x0008, 0x0018, "UI", uid_bytes(instance)),
        element_explicit(0x0008, 0x0060, "CS", text("CR")),
        element_explicit(0x0010, 0x0010, "PN", text("ABUSE^WARMUP")),
        element_explicit(0x0010, 0x0020, "LO", text("ABUSE1")),
        element_explicit(0x0018, 0x0015, "CS", text("CHEST")),
        element_explicit(0x0020, 0x000D, "UI", uid_bytes(instance + ".1")),
        element_explicit(0x0020, 0x000E, "UI", uid_bytes(instance + ".2")),
        element_explicit(0x0028, 0x0002, "US", struct.pack("<H", 1)),
        element_explicit(0x0028, 0x0004, "CS", text("MONOCHROME2")),
        element_explicit(0x0028, 0x0010, "US", struct.pack("<H", rows)),
        element_explicit(0x0028, 0x0011, "US", struct.pack("<H", cols)),
        element_explicit(0x0028, 0x0100, "US", struct.pack("<H", 16)),
        element_explicit(0x0028, 0x0101, "US", struct.pack("<H", 12)),
        element_explicit(0x0028, 0x0102, "US", struct.pack("<H", 11)),
        element_explicit(0x0028, 0x0103, "US", struct.pack("<H", 0)),
        element_explicit(0x7FE0, 0x0010, "OW", pixels),
    ])
    with open(args.path, "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + meta + ds)
    emit({"scenario": "write-dicom", "path": args.path, "sopInstanceUid": instance, "bytes": 132 + len(meta) + len(ds)})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=11112)
    ap.add_argument("--called", default="JOINTSCORE", help="the SCP's AE title")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an answer")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("double-rq", help="a second A-ASSOCIATE-RQ on an accepted association")
    p.add_argument("--count", type=int, default=10)
    p.set_defaults(func=cmd_double_rq)

    p = sub.add_parser("cut", help="C-STOREs cut off mid-object")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--mode", choices=["close", "reset", "abort", "mixed"], default="mixed")
    p.add_argument("--fragment", type=int, default=32768, help="data set bytes sent before the cut")
    p.add_argument("--linger", type=float, default=0.0, help="seconds between the last bytes and close")
    p.add_argument("--abort-wait", type=float, default=2.0, help="seconds to wait at the end for the SCP to close aborted connections")
    p.set_defaults(func=cmd_cut)

    p = sub.add_parser("huge", help="a PDU header claiming 4 GB")
    p.add_argument("--claim", type=int, default=0xFFFFFFFF)
    p.add_argument("--pdu-type", type=int, default=4)
    p.add_argument("--phase", choices=["after-association", "first-pdu"], default="after-association")
    p.add_argument("--max-send", type=int, default=256 << 20, help="give up after sending this many body bytes")
    p.add_argument("--max-seconds", type=float, default=8.0)
    p.set_defaults(func=cmd_huge)

    p = sub.add_parser("slowloris", help="one byte every few seconds after the association")
    p.add_argument("--interval", type=float, default=1.5)
    p.add_argument("--max-seconds", type=float, default=20.0)
    p.set_defaults(func=cmd_slowloris)

    p = sub.add_parser("idle", help="idle and stalled connections held open")
    p.add_argument("--count", type=int, default=48)
    p.add_argument("--hold", type=float, default=7.0)
    p.set_defaults(func=cmd_idle)

    p = sub.add_parser("hold", help="accepted associations that go silent and ignore the SCP's close")
    p.add_argument("--count", type=int, default=2)
    p.add_argument("--hold", type=float, default=6.0)
    p.set_defaults(func=cmd_hold)

    p = sub.add_parser("write-dicom", help="write a small complete CR object")
    p.add_argument("path")
    p.set_defaults(func=cmd_write_dicom)

    args = ap.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
