/**
 * A DICOM peer as the operator writes it on the command line: `AE@host:port`.
 * Parsing is strict because a typo in an AE title or port otherwise surfaces much later as
 * an association reject or a connection timeout, far from the value that caused it.
 */
export interface Peer {
  /** the called AE title */
  aeTitle: string;
  host: string;
  port: number;
}

export const PEER_FORM = 'AE@host:port, e.g. PACS@10.0.0.5:104';

/** The AE title rules of PS3.5 (AE VR): 1-16 characters, no backslash, no control characters. */
export function checkAeTitle(value: string, what = 'AE title'): string {
  // Leading and trailing spaces are not significant in an AE title.
  const ae = value.trim();
  if (ae.length === 0) throw new Error(`${what} is empty in "${value}"`);
  if (ae.length > 16) throw new Error(`${what} "${ae}" is ${ae.length} characters long; at most 16 are allowed`);
  if (ae.includes('\\')) throw new Error(`${what} "${ae}" contains a backslash, which DICOM does not allow`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(ae)) throw new Error(`${what} "${ae}" contains a control character`);
  return ae;
}

function peerError(value: string, why: string): Error {
  return new Error(`invalid peer "${value}": ${why}; expected ${PEER_FORM}`);
}

/** Splits `host:port`; an IPv6 host needs brackets (`[::1]:104`) because it contains colons itself. */
function splitHostPort(value: string, hostPort: string): { host: string; port: string } {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(hostPort);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] };
  const colon = hostPort.lastIndexOf(':');
  if (colon < 0) throw peerError(value, 'no ":port" after the host');
  const host = hostPort.slice(0, colon);
  if (host.includes(':')) throw peerError(value, 'an IPv6 host must be written in brackets, as [::1]');
  return { host, port: hostPort.slice(colon + 1) };
}

export function parsePeer(value: string): Peer {
  // The last "@" separates: a host never contains one, an AE title might.
  const at = value.lastIndexOf('@');
  if (at < 0) throw peerError(value, 'no "@" between the AE title and the host');
  let aeTitle: string;
  try {
    aeTitle = checkAeTitle(value.slice(0, at), 'the AE title');
  } catch (err) {
    throw peerError(value, (err as Error).message);
  }
  const { host, port: portText } = splitHostPort(value, value.slice(at + 1));
  if (host.length === 0) throw peerError(value, 'the host is empty');
  if (!/^\d+$/.test(portText)) throw peerError(value, `the port "${portText}" is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw peerError(value, `the port ${port} is outside 1-65535`);
  return { aeTitle, host, port };
}

export function formatPeer(peer: Peer): string {
  const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host;
  return `${peer.aeTitle}@${host}:${peer.port}`;
}
