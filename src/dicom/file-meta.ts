import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './part10.js';

/**
 * The Part 10 preamble and File Meta Information (group 0002) for an object that arrives
 * over the network. DIMSE carries only the data set; the meta header is ours to write,
 * from the C-STORE command (SOP Class, SOP Instance) and the negotiated transfer syntax.
 * Writing it by hand lets the SCP put it in front of the streamed bytes before any of the
 * data set has arrived, so nothing is held in memory.
 */
export interface FileMetaInput {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** the calling AE title: (0002,0016) Source Application Entity Title */
  sourceAeTitle?: string;
}

/** UI values are padded with NUL to an even length; text (SH, AE) with a space. */
function padded(value: string, pad: string): Buffer {
  return Buffer.from(value.length % 2 ? value + pad : value, 'latin1');
}

/** An explicit VR little-endian element with a 2-byte length (every meta VR but OB). */
function shortElement(element: number, vr: string, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0x0002, 0);
  head.writeUInt16LE(element, 2);
  head.write(vr, 4, 'latin1');
  head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

function obElement(element: number, value: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16LE(0x0002, 0);
  head.writeUInt16LE(element, 2);
  head.write('OB', 4, 'latin1');
  head.writeUInt32LE(value.length, 8);
  return Buffer.concat([head, value]);
}

export function encodeFileMeta(m: FileMetaInput): Buffer {
  const body = [
    obElement(0x0001, Buffer.from([0x00, 0x01])),
    shortElement(0x0002, 'UI', padded(m.sopClassUid, '\0')),
    shortElement(0x0003, 'UI', padded(m.sopInstanceUid, '\0')),
    shortElement(0x0010, 'UI', padded(m.transferSyntaxUid, '\0')),
    shortElement(0x0012, 'UI', padded(IMPLEMENTATION_CLASS_UID, '\0')),
    shortElement(0x0013, 'SH', padded(IMPLEMENTATION_VERSION_NAME, ' ')),
  ];
  if (m.sourceAeTitle) body.push(shortElement(0x0016, 'AE', padded(m.sourceAeTitle.trim(), ' ')));
  const content = Buffer.concat(body);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(content.length, 0);
  const preamble = Buffer.alloc(128);
  return Buffer.concat([preamble, Buffer.from('DICM', 'latin1'), shortElement(0x0000, 'UL', groupLength), content]);
}

