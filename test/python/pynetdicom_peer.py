"""pynetdicom as an independent DICOM peer for test/node-pynetdicom.test.ts.

    python3 test/python/pynetdicom_peer.py echo  --port P [--host H] [--aec AE] [--aet AE]
    python3 test/python/pynetdicom_peer.py store --port P [...] [--command-uid UID] [--dataset-uid UID] FILE...
    python3 test/python/pynetdicom_peer.py hold  --port P [...]
    python3 test/python/pynetdicom_peer.py scp   --port P --out FILE [--aet AE] [--fail-status 0xA700]

Each SCU mode prints one JSON object per line on stdout (the association outcome, then one
per DIMSE operation) and exits 0 if it could run at all; the test judges the content.

store: each file is sent as stored (pynetdicom's chunked mode: the data set bytes after the
file meta travel untouched), on a presentation context that proposes only the file's own
transfer syntax, so a compressed file goes compressed. The C-STORE command's Affected SOP
Class / Instance UIDs come from the file meta; --command-uid rewrites the file meta's
Media Storage SOP Instance UID (in a temporary copy) so the command can name another UID
than the data set's (0008,0018), or a malformed one; --dataset-uid rewrites the data set's
(0008,0018) (and the command's, unless --command-uid is given too).

hold: associates (Verification), prints {"event": "associated"}, then waits for a line on
stdin (or stdin closing) and releases, printing {"event": "released"}.

scp: a Storage SCP (every storage SOP class, the default transfer syntaxes, plus
Verification) that appends one JSON line per received C-STORE to --out: SOP Class UID, SOP
Instance UID, Study Instance UID, transfer syntax, calling AE, the status answered and a
timestamp; answers 0x0000, or --fail-status to everything. Runs until killed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time

from pydicom import config as pydicom_config
from pydicom import dcmread
from pydicom.filewriter import dcmwrite
from pynetdicom import AE, AllStoragePresentationContexts, _config, evt
from pynetdicom.sop_class import Verification

# Send files as they are stored (no decode / re-encode), and let a malformed command UID through.
_config.STORE_SEND_CHUNKED_DATASET = True
_config.ENFORCE_UID_CONFORMANCE = False
pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


RECEIVED_RJ: list = []


def on_pdu_received(event) -> None:
    """Keeps an A-ASSOCIATE-RJ as it came off the wire. pynetdicom 3.0 can report an
    association as aborted rather than rejected when the reject and the transport close race
    in its state machine (seen about 1 time in 6, its debug log showing the RJ PDU): the
    PDU itself is the evidence of what the node answered."""
    pdu = event.pdu
    if type(pdu).__name__ == "A_ASSOCIATE_RJ":
        RECEIVED_RJ.append(pdu)


def association_outcome(assoc) -> dict:
    rj = RECEIVED_RJ[-1] if RECEIVED_RJ else None
    out = {
        "event": "association",
        "established": bool(assoc.is_established),
        "rejected": bool(assoc.is_rejected) or rj is not None,
        "aborted": bool(assoc.is_aborted) and rj is None,
    }
    if assoc.is_established:
        out["acceptorMaxPdu"] = int(assoc.acceptor.maximum_length)
    if rj is not None:
        out.update(
            result=int(rj.result),
            source=int(rj.source),
            reason=int(rj.reason_diagnostic),
            resultStr=rj.result_str,
            sourceStr=rj.source_str,
            reasonStr=rj.reason_str,
        )
    return out


def make_ae(args) -> AE:
    ae = AE(ae_title=args.aet)
    ae.acse_timeout = 30
    ae.dimse_timeout = 60
    ae.network_timeout = 30
    return ae


def associate(ae, args):
    """Associates with the node (TLS when asked), keeping any A-ASSOCIATE-RJ it answers."""
    return ae.associate(
        args.host, args.port, ae_title=args.aec, tls_args=tls_args(args), evt_handlers=[(evt.EVT_PDU_RECV, on_pdu_received)]
    )


def cmd_echo(args) -> None:
    ae = make_ae(args)
    ae.add_requested_context(Verification)
    assoc = associate(ae, args)
    emit(association_outcome(assoc))
    if assoc.is_established:
        status = assoc.send_c_echo()
        emit({"event": "echo", "status": int(status.Status) if "Status" in status else None})
        assoc.release()


def client_tls(args):
    """TLS as a client: trust --tls-ca; present --tls-cert/--tls-key when given."""
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.tls_ca)
    if args.tls_cert:
        ctx.load_cert_chain(certfile=args.tls_cert, keyfile=args.tls_key)
    return ctx


def tls_args(args):
    return (client_tls(args), args.tls_server_name) if args.tls_ca else None


def server_tls(args):
    """TLS as a server: our --tls-cert/--tls-key; clients verified against --tls-ca if given."""
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certfile=args.tls_cert, keyfile=args.tls_key)
    if args.tls_ca:
        ctx.load_verify_locations(cafile=args.tls_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def cmd_store(args) -> None:
    ae = make_ae(args)
    tmp = tempfile.mkdtemp(prefix="pynetdicom-peer-")
    plan = []
    for path in args.files:
        meta = dcmread(path, stop_before_pixels=True).file_meta
        send_path = path
        if args.command_uid or args.dataset_uid:
            ds = dcmread(path)
            if args.dataset_uid:
                ds.SOPInstanceUID = args.dataset_uid
                ds.file_meta.MediaStorageSOPInstanceUID = args.dataset_uid
            if args.command_uid:
                ds.file_meta.MediaStorageSOPInstanceUID = args.command_uid
            send_path = os.path.join(tmp, os.path.basename(path))
            dcmwrite(send_path, ds, enforce_file_format=False)
        plan.append((path, send_path, str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID)))
        # one context per (class, syntax) proposing only the file's own syntax
        if not any(
            cx.abstract_syntax == str(meta.MediaStorageSOPClassUID) and cx.transfer_syntax == [str(meta.TransferSyntaxUID)]
            for cx in ae.requested_contexts
        ):
            ae.add_requested_context(str(meta.MediaStorageSOPClassUID), [str(meta.TransferSyntaxUID)])
    assoc = associate(ae, args)
    emit(association_outcome(assoc))
    if not assoc.is_established:
        return
    accepted = {(cx.abstract_syntax, cx.transfer_syntax[0]) for cx in assoc.accepted_contexts}
    for path, send_path, sop_class, ts in plan:
        if (sop_class, ts) not in accepted:
            emit({"event": "store", "file": path, "error": f"no accepted context for {sop_class} in {ts}"})
            continue
        status = assoc.send_c_store(send_path)
        emit(
            {
                "event": "store",
                "file": path,
                "transferSyntax": ts,
                "status": int(status.Status) if "Status" in status else None,
                "errorComment": str(status.ErrorComment) if "ErrorComment" in status else None,
            }
        )
    assoc.release()


def cmd_hold(args) -> None:
    ae = make_ae(args)
    ae.add_requested_context(Verification)
    assoc = associate(ae, args)
    emit(association_outcome(assoc))
    if not assoc.is_established:
        return
    emit({"event": "associated"})
    sys.stdin.readline()  # a line, or EOF when the test ends
    assoc.release()
    emit({"event": "released", "released": bool(assoc.is_released)})


def cmd_scp(args) -> None:
    lock = threading.Lock()
    fail = int(args.fail_status, 0) if args.fail_status else None

    def on_store(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        status = fail if fail is not None else 0x0000
        line = {
            "sopClassUid": str(ds.get("SOPClassUID", "")),
            "sopInstanceUid": str(ds.get("SOPInstanceUID", "")),
            "studyInstanceUid": str(ds.get("StudyInstanceUID", "")),
            "transferSyntaxUid": str(event.context.transfer_syntax),
            "commandSopInstanceUid": str(event.request.AffectedSOPInstanceUID),
            "callingAe": event.assoc.requestor.ae_title,
            "status": status,
            "t": time.time(),
        }
        with lock, open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return status

    ae = AE(ae_title=args.aet)
    ae.supported_contexts = AllStoragePresentationContexts
    ae.add_supported_context(Verification)
    ae.maximum_associations = 10
    ssl_context = server_tls(args) if args.tls_cert else None
    server = ae.start_server(
        ("127.0.0.1", args.port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)], ssl_context=ssl_context
    )
    emit({"event": "listening", "port": args.port})
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["echo", "store", "hold", "scp"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--aec", default="JOINTSCORE", help="called AE title (the peer's)")
    p.add_argument("--aet", default="PYNETDICOM", help="our AE title")
    p.add_argument("--command-uid", help="store: Affected SOP Instance UID to put in the command")
    p.add_argument("--dataset-uid", help="store: SOP Instance UID (0008,0018) to put in the data set (and the command)")
    p.add_argument("--out", help="scp: JSON lines file")
    p.add_argument("--fail-status", help="scp: answer this status (e.g. 0xA700) to every C-STORE")
    p.add_argument("--tls-ca", help="TLS: CA file to verify the peer (echo: the server; scp: clients)")
    p.add_argument("--tls-cert", help="TLS: our certificate (PEM)")
    p.add_argument("--tls-key", help="TLS: our private key (PEM)")
    p.add_argument("--tls-server-name", default="localhost", help="echo: the name the server certificate must carry")
    p.add_argument("files", nargs="*")
    args = p.parse_intermixed_args()
    {"echo": cmd_echo, "store": cmd_store, "hold": cmd_hold, "scp": cmd_scp}[args.mode](args)


if __name__ == "__main__":
    main()
