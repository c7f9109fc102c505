import dcmjs from 'dcmjs';
import { VERSION } from '../version.js';
import { keepUidsAsSent } from './uid-fidelity.js';

/**
 * DICOM Part 10 files from and to dcmjs "naturalized" datasets (keyword -> value), the
 * form the rest of the program builds and reads.
 */
export type NaturalDataset = Record<string, any>;

export const TransferSyntax = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  RleLossless: '1.2.840.10008.1.2.5',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegLossless: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
} as const;

/** Our implementation identity in every file meta header we write. */
export const IMPLEMENTATION_CLASS_UID = '2.25.160449214929658216496209453262316446537';
export const IMPLEMENTATION_VERSION_NAME = `JOINTSCORE_${VERSION}`.slice(0, 16);

dcmjs.log.setLevel?.('error');
keepUidsAsSent(dcmjs as unknown as Parameters<typeof keepUidsAsSent>[0]);

export function writePart10(
  dataset: NaturalDataset,
  transferSyntaxUID: string = TransferSyntax.ExplicitVRLittleEndian,
): Buffer {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: transferSyntaxUID,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write({ fragmentMultiframe: false }));
}

export interface Part10 {
  meta: NaturalDataset;
  dataset: NaturalDataset;
}

/** The bytes as an ArrayBuffer for dcmjs, without a copy when they fill their buffer (a file read whole). */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * `untilPixelData`: stop before (7FE0,0010), for callers that need only the attributes
 * (the node's selection rules): a fraction of the time and memory for a large image.
 */
export function readPart10(bytes: Uint8Array, options: { untilPixelData?: boolean } = {}): Part10 {
  const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
  const readOptions = options.untilPixelData ? { untilTag: '7FE00010', includeUntilTagValue: false } : undefined;
  const file = DicomMessage.readFile(arrayBufferOf(bytes), readOptions);
  return {
    meta: DicomMetaDictionary.naturalizeDataset(file.meta),
    dataset: DicomMetaDictionary.naturalizeDataset(file.dict),
  };
}
