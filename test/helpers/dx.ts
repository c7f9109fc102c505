import type { NaturalDataset } from '../../src/dicom/part10.js';

/** Digital X-Ray Image Storage - For Presentation. */
export const DX_FOR_PRESENTATION = '1.2.840.10008.5.1.4.1.1.1.1';

export interface MinimalDxOptions {
  rows?: number;
  columns?: number;
  /** 8..16; the pixels use the full stored range. Default 12. */
  bitsStored?: number;
}

/**
 * A minimal DX For Presentation dataset (dciodvfy: no errors) with real pixels: a diagonal
 * gradient with a bright disc, MONOCHROME2, 16 bits allocated. `identity` supplies (and
 * overrides) the patient, study, series and instance attributes, e.g. the `source` of an SR
 * fixture, so that an SR built from the same attributes references this very image. Test
 * fixture only: the real encoder of synthetic radiographs is src/phantom/dicom-dx.ts.
 */
export function buildMinimalDx(identity: NaturalDataset, options: MinimalDxOptions = {}): NaturalDataset {
  const rows = options.rows ?? identity.Rows ?? 256;
  const columns = options.columns ?? identity.Columns ?? 256;
  const bitsStored = options.bitsStored ?? 12;
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) {
    throw new Error(`buildMinimalDx: bad size ${rows} x ${columns}`);
  }
  const max = 2 ** bitsStored - 1;
  const pixels = new Uint16Array(rows * columns);
  const cx = columns / 2;
  const cy = rows / 2;
  const r2 = (Math.min(rows, columns) / 4) ** 2;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      const g = (x / Math.max(1, columns - 1) + y / Math.max(1, rows - 1)) / 2;
      const inDisc = (x - cx) ** 2 + (y - cy) ** 2 <= r2;
      pixels[y * columns + x] = inDisc ? max : Math.round(g * 0.75 * max);
    }
  }
  // Little endian on every platform Node runs on; copy so that the buffer holds exactly the pixels.
  const pixelBytes = new Uint8Array(pixels.buffer.slice(0));

  const defaults: NaturalDataset = {
    SpecificCharacterSet: 'ISO_IR 100',
    ImageType: ['ORIGINAL', 'PRIMARY'],
    SOPClassUID: DX_FOR_PRESENTATION,
    SOPInstanceUID: '1.2.826.0.1.3680043.10.1234.9.9.1',
    StudyDate: '20260301',
    StudyTime: '101500',
    SeriesDate: '20260301',
    SeriesTime: '101600',
    ContentDate: '20260301',
    ContentTime: '101630',
    AccessionNumber: '',
    Modality: 'DX',
    PresentationIntentType: 'FOR PRESENTATION',
    Manufacturer: 'jointscore test fixture',
    ReferringPhysicianName: '',
    StudyDescription: 'XR HAND (test fixture)',
    SeriesDescription: 'minimal DX for presentation',
    PatientName: 'TEST^DX',
    PatientID: 'TEST-DX',
    PatientBirthDate: '',
    PatientSex: '',
    BodyPartExamined: 'HAND',
    DetectorType: 'SCINTILLATOR',
    ImagerPixelSpacing: ['0.1', '0.1'],
    ViewPosition: 'PA',
    PositionerType: '',
    StudyInstanceUID: '1.2.826.0.1.3680043.10.1234.9',
    SeriesInstanceUID: '1.2.826.0.1.3680043.10.1234.9.9',
    StudyID: 'S1',
    SeriesNumber: 1,
    InstanceNumber: 1,
    PatientOrientation: ['R', 'F'],
    ImageLaterality: 'U',
    BurnedInAnnotation: 'NO',
    LossyImageCompression: '00',
    PixelIntensityRelationship: 'LOG',
    PixelIntensityRelationshipSign: -1,
    RescaleIntercept: '0',
    RescaleSlope: '1',
    RescaleType: 'US',
    WindowCenter: String((max + 1) / 2),
    WindowWidth: String(max + 1),
    PresentationLUTShape: 'IDENTITY',
    AnatomicRegionSequence: [{ CodeValue: '85562004', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Hand' }],
    AcquisitionContextSequence: [],
    // CID 4010 "DX View": postero-anterior, agreeing with ViewPosition
    ViewCodeSequence: [{ CodeValue: '272479007', CodingSchemeDesignator: 'SCT', CodeMeaning: 'postero-anterior' }],
  };
  return {
    ...defaults,
    ...identity,
    // the image itself: never taken from `identity`
    Modality: 'DX',
    SOPClassUID: DX_FOR_PRESENTATION,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 16,
    BitsStored: bitsStored,
    HighBit: bitsStored - 1,
    PixelRepresentation: 0,
    PixelData: [pixelBytes.buffer],
    _vrMap: { PixelData: 'OW' },
  };
}

/**
 * Explicit VR Little Endian file bytes with (0010,0010) PN's value replaced by `name`, for
 * values dcmjs refuses to write (longer than PN allows).
 */
export function withPatientName(bytes: Buffer, name: string): Buffer {
  const tag = Buffer.from([0x10, 0x00, 0x10, 0x00, 0x50, 0x4e]);
  const at = bytes.indexOf(tag, 132);
  const len = bytes.readUInt16LE(at + 6);
  const value = Buffer.from(name.length % 2 ? name + ' ' : name, 'latin1');
  const head = Buffer.alloc(8);
  tag.copy(head);
  head.writeUInt16LE(Math.min(value.length, 0xffff), 6);
  return Buffer.concat([bytes.subarray(0, at), head, value, bytes.subarray(at + 8 + len)]);
}

/** The file with `depth` nested sequences (undefined lengths) put before its Pixel Data (dcmjs would recurse). */
export function deeplyNested(bytes: Buffer, depth = 20_000): Buffer {
  const at = bytes.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  const open = Buffer.from([0x08, 0x00, 0x40, 0x11, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]);
  const close = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  return Buffer.concat([bytes.subarray(0, at), Buffer.concat(Array(depth).fill(open)), Buffer.concat(Array(depth).fill(close)), bytes.subarray(at)]);
}

/** PS3.5 H.3.1's Japanese name, as ISO 2022 IR 87 encodes it (ASCII, then JIS X 0208 after ESC $ B). */
export const YAMADA_ISO2022 = 'Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B';
