import { TRANSFER_SYNTAX_REGISTRY } from '../dicom/transfer-syntax.js';

/**
 * What the node accepts at association time: which storage SOP classes, in which transfer
 * syntaxes, and which peers. Pure functions, so the policy is testable without a socket.
 *
 * The node accepts more than it analyses. A PACS routing a whole study sends its SRs,
 * presentation states and secondary captures too; refusing their presentation contexts
 * would make the routing job fail at the PACS. They are stored, then skipped by the
 * selection rules with a reason.
 */
export const VERIFICATION = '1.2.840.10008.1.1';

export const IMAGE_STORAGE: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.1': 'Computed Radiography Image Storage',
  '1.2.840.10008.5.1.4.1.1.1.1': 'Digital X-Ray Image Storage - For Presentation',
  '1.2.840.10008.5.1.4.1.1.1.1.1': 'Digital X-Ray Image Storage - For Processing',
  '1.2.840.10008.5.1.4.1.1.7': 'Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.7.2': 'Multi-frame Grayscale Byte Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.7.3': 'Multi-frame Grayscale Word Secondary Capture Image Storage',
};

/** Stored so a study can be routed whole; never analysed. */
export const OTHER_STORAGE: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.88.11': 'Basic Text SR Storage',
  '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR Storage',
  '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR Storage',
  '1.2.840.10008.5.1.4.1.1.88.34': 'Comprehensive 3D SR Storage',
  '1.2.840.10008.5.1.4.1.1.88.59': 'Key Object Selection Document Storage',
  '1.2.840.10008.5.1.4.1.1.11.1': 'Grayscale Softcopy Presentation State Storage',
};

export const STORAGE_CLASSES: Record<string, string> = { ...IMAGE_STORAGE, ...OTHER_STORAGE };

/** Transfer syntaxes the node stores and can later decode (dicom/transfer-syntax.ts). */
export const TRANSFER_SYNTAXES: Readonly<Record<string, string>> = Object.fromEntries(
  TRANSFER_SYNTAX_REGISTRY.filter((t) => t.received).map((t) => [t.uid, t.name]),
);

export type ContextDecision =
  | { accept: true; transferSyntaxUid: string }
  | { accept: false; reason: 'abstract-syntax-not-supported' | 'transfer-syntaxes-not-supported' };

/**
 * The first transfer syntax the sender proposed that we support: senders list their
 * stored form first, and taking it spares them a transcode (and keeps the bytes the
 * modality made). C-ECHO needs no data set; any syntax will do.
 */
export function decideContext(abstractSyntaxUid: string, proposed: string[]): ContextDecision {
  if (abstractSyntaxUid !== VERIFICATION && !(abstractSyntaxUid in STORAGE_CLASSES)) {
    return { accept: false, reason: 'abstract-syntax-not-supported' };
  }
  const ts = proposed.find((t) => t in TRANSFER_SYNTAXES);
  return ts ? { accept: true, transferSyntaxUid: ts } : { accept: false, reason: 'transfer-syntaxes-not-supported' };
}

export interface PeerPolicy {
  aeTitle: string;
  allowUnknownPeers: boolean;
  allowLoopbackPeers: boolean;
  allowedPeers: { aeTitle: string; host?: string }[];
  maxAssociations: number;
}

/** This machine's own addresses: a peer there already has the data on the same disk. */
export function isLoopback(host: string): boolean {
  const h = normaliseHost(host);
  return h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export type AssociationDecision =
  | { accept: true }
  | { accept: false; why: 'called-ae' | 'calling-ae' | 'busy'; message: string };

/** `::ffff:10.0.0.5` (IPv4 on a dual-stack socket) compares equal to `10.0.0.5`. */
export function normaliseHost(host: string): string {
  return host.startsWith('::ffff:') ? host.slice(7) : host;
}

export function decideAssociation(
  p: PeerPolicy,
  a: { calledAe: string; callingAe: string; host: string; active: number },
): AssociationDecision {
  const called = a.calledAe.trim();
  const calling = a.callingAe.trim();
  if (called !== p.aeTitle) {
    return { accept: false, why: 'called-ae', message: `called AE title "${called}" is not this node's ("${p.aeTitle}", dimse.aeTitle)` };
  }
  const host = normaliseHost(a.host);
  const known = p.allowedPeers.some((x) => x.aeTitle === calling && (!x.host || normaliseHost(x.host) === host));
  if (!known && !p.allowUnknownPeers && !(p.allowLoopbackPeers && isLoopback(host))) {
    return {
      accept: false,
      why: 'calling-ae',
      message: `calling AE "${calling}" from ${host} is not in dimse.allowedPeers: add it there (aeTitle, host) to accept it`,
    };
  }
  if (a.active >= p.maxAssociations) {
    return { accept: false, why: 'busy', message: `${a.active} associations already open (dimse.maxAssociations = ${p.maxAssociations})` };
  }
  return { accept: true };
}
