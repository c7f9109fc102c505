import dcmjs from 'dcmjs';
import { describe, expect, it } from 'vitest';
import { encodePart10ExplicitLePieces } from '../src/dicom/encode.js';
import { withSummary } from '../src/analysis/severity.js';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import type { DisplayImage } from '../src/imaging/preprocess.js';
import { readPart10, writePart10, writePart10WithDcmjs, TransferSyntax, type NaturalDataset } from '../src/dicom/part10.js';
import { encodePhantomDx } from '../src/phantom/dicom-dx.js';
import { FIXTURES, renderFixture } from '../src/phantom/fixtures.js';
import { buildResultObjects, buildNoHandReport, DEFAULT_RESULT_OPTIONS } from '../src/pipeline/results.js';
import { fixtureAnalysis, fixtureGray, fixtureSource, withUngradedJoint, ROWS, COLUMNS } from './helpers/report-fixture.js';
import { analysis as srAnalysis, source as srSource } from './helpers/sr-fixture.js';

/**
 * writePart10 encodes explicit VR little endian itself (src/dicom/encode.ts) and falls back
 * to dcmjs for what it does not cover: the file must be the very bytes dcmjs writes, for
 * every kind of object the node writes and for the value forms that dcmjs formats.
 */
function expectSameBytes(ds: NaturalDataset, what: string, encoded = true): void {
  // encoded: the encoder wrote it (not a fallback to dcmjs that would pass trivially)
  expect(encodePart10ExplicitLePieces({}, dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds)) !== undefined, `${what}: encoded`).toBe(encoded);
  const ours = writePart10(ds);
  const theirs = writePart10WithDcmjs(ds);
  expect(ours.length, what).toBe(theirs.length);
  const first = ours.findIndex((b, i) => b !== theirs[i]);
  expect(first, `${what}: first differing byte`).toBe(-1);
}

const at = new Date(Date.UTC(2026, 11, 3, 12, 0, 0));

async function resultsOf(analysis: HandAnalysis, source: NaturalDataset, srClass: 'comprehensive3d' | 'comprehensive' = 'comprehensive3d') {
  const display: DisplayImage = { rows: ROWS, columns: COLUMNS, data: Float32Array.from(fixtureGray(analysis), (v) => v / 255), pixelSpacingMm: [0.15, 0.15] };
  return buildResultObjects(analysis, source, display, { ...DEFAULT_RESULT_OPTIONS, srClass, contentDateTime: at, maxOverlaySide: 512 });
}

describe('writePart10 writes what dcmjs writes', () => {
  it('SR (both classes), SC and PR of a graded hand, with a CJK patient name', async () => {
    for (const srClass of ['comprehensive3d', 'comprehensive'] as const) {
      const objects = await resultsOf(fixtureAnalysis(), fixtureSource(), srClass);
      for (const [kind, ds] of Object.entries(objects)) expectSameBytes(ds, `${srClass} ${kind}`);
    }
  });

  it('a joint not graded, an estimated spacing, a turned hand, a partial view, an immature hand, no hand', async () => {
    const a = withUngradedJoint(fixtureAnalysis());
    a.source = { ...a.source, pixelSpacingMm: [0.312, 0.312], pixelSpacingFrom: 'estimated', turnedDeg: 270 };
    a.hands[0] = withSummary({ ...a.hands[0], view: { kind: 'PA-partial', layoutResidual: 0.1, maxResidual: 0.2, notInView: ['DIP5', 'PIP5'] } as never });
    for (const [kind, ds] of Object.entries(await resultsOf(a, fixtureSource({ PatientAge: '034Y' })))) expectSameBytes(ds, `partial ${kind}`);
    const immature: HandAnalysis = { ...srAnalysis, hands: [], notGraded: [{ laterality: 'L', cause: 'immature', reason: 'skeletally immature: aged 12' }] };
    expectSameBytes(buildNoHandReport(immature, srSource).sr, 'immature no-hand SR');
    expectSameBytes(buildNoHandReport({ ...srAnalysis, hands: [] }, srSource).sr, 'no-hand SR');
  });

  it('phantom radiographs (OW pixels, both photometric interpretations), read back and written again', async () => {
    for (const def of FIXTURES.filter((f) => f.encoding.transferSyntax === TransferSyntax.ExplicitVRLittleEndian)) {
      const dx = await encodePhantomDx(renderFixture(def), def.encoding);
      expectSameBytes(readPart10(dx.bytes).dataset, def.name);
    }
  });

  it('the value forms dcmjs formats: long decimals, numbers in strings, person-name groups, odd lengths, empty values', () => {
    const odd = new Uint8Array([1, 2, 3]).buffer;
    const ds: NaturalDataset = {
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
      SOPInstanceUID: '1.2.3.45',
      SpecificCharacterSet: 'ISO_IR 192',
      PatientName: [{ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }, { Alphabetic: 'Doe^J' }],
      ReferringPhysicianName: [{ Alphabetic: 'A', Ideographic: '' }],
      OperatorsName: '',
      PatientID: 'Müller-ÄÖÜ',
      StudyDescription: 'odd',
      ImageType: ['DERIVED', 'SECONDARY', 'X'],
      PixelSpacing: [1 / 3, 123456789012345.67],
      ImagerPixelSpacing: [-0.000012345678, 3.14159e20],
      WindowCenter: [-1234567890123.4567, '40.0'],
      SliceThickness: null,
      InstanceNumber: 7,
      SeriesNumber: '12',
      ReferencedFrameNumber: [1, 2, 3],
      Rows: 3,
      Columns: 1,
      RescaleIntercept: -1024,
      FloatPixelPaddingValue: 0.1,
      DoubleFloatPixelPaddingValue: -2.5e-300,
      StudyDate: '',
      ContentSequence: [],
      ReferencedImageSequence: [{ ReferencedSOPInstanceUID: '1.2.3', ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1', ReferencedFrameNumber: [] }],
      PixelData: [odd],
      _vrMap: { PixelData: 'OB' },
    };
    expectSameBytes(ds, 'edge values');
  });

  it('falls back to dcmjs where it must: a non-ASCII code string, an attribute tag value, a VR the dictionary leaves open', () => {
    const base = { SOPClassUID: '1.2.840.10008.5.1.4.1.1.7', SOPInstanceUID: '1.2.3.46' };
    expectSameBytes({ ...base, Modality: 'ÖT' }, 'non-ASCII CS', false);
    expectSameBytes({ ...base, FrameIncrementPointer: 0x00181063 }, 'AT', false);
    expectSameBytes({ ...base, RealWorldValueFirstValueMapped: 70000 }, 'US or SS', false);
  });
});
