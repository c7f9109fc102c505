import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { decodeDicomImage } from '../src/imaging/decode.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { runTool } from './helpers/dicom-tools.js';
import { captureLogger } from './helpers/inference.js';

/**
 * A Presentation LUT Shape that contradicts the Photometric Interpretation (DX pairs INVERSE with
 * MONOCHROME1, IDENTITY with MONOCHROME2): DCMTK's dcmj2pnm follows the shape, so the same pixels
 * show with bone bright or dark as the shape says. The node reads the Photometric Interpretation
 * and warns, naming both attributes and the pairs to write.
 */
const dir = mkdtempSync(join(tmpdir(), 'jointscore-pls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** dcmj2pnm's rendering of the dataset: its mean grey value. */
async function dcmtkMean(ds: NaturalDataset, name: string): Promise<number> {
  const [dcm, png] = [join(dir, `${name}.dcm`), join(dir, `${name}.png`)];
  writeFileSync(dcm, writePart10(ds));
  const run = runTool('dcmj2pnm', ['+on', dcm, png]);
  expect(run.status, run.stderr).toBe(0);
  return (await sharp(readFileSync(png)).stats()).channels[0].mean;
}

describe('Presentation LUT Shape against Photometric Interpretation', () => {
  it('INVERSE on MONOCHROME2: DCMTK shows it inverted; the node warns, naming both and the fix', async () => {
    const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
    expect([dataset.PhotometricInterpretation, dataset.PresentationLUTShape]).toEqual(['MONOCHROME2', 'IDENTITY']);
    const inverse = { ...dataset, PresentationLUTShape: 'INVERSE' };
    const [asMade, shapeInverse] = [await dcmtkMean(dataset, 'identity'), await dcmtkMean(inverse, 'inverse')];
    expect(Math.abs(asMade + shapeInverse - 255), `${asMade} and ${shapeInverse}: one the other's negative`).toBeLessThan(3);
    const { log, lines } = captureLogger();
    await decodeDicomImage(writePart10(inverse), 'inverse.dcm', log);
    const warned = lines.filter((l) => l.level === 'warn' && l.message.includes('Presentation LUT Shape'));
    expect(warned.map((l) => l.message)).toEqual([
      expect.stringMatching(/^inverse\.dcm: Presentation LUT Shape \(2050,0020\) INVERSE with Photometric Interpretation \(0028,0004\) MONOCHROME2: .*MONOCHROME2 with IDENTITY, or MONOCHROME1 with INVERSE$/),
    ]);
    // the pairs the standard gives: no warning
    const quiet = captureLogger();
    await decodeDicomImage(writePart10(dataset), 'identity.dcm', quiet.log);
    await decodeDicomImage(writePart10({ ...dataset, PhotometricInterpretation: 'MONOCHROME1', PresentationLUTShape: 'INVERSE' }), 'm1.dcm', quiet.log);
    expect(quiet.lines.some((l) => l.message.includes('Presentation LUT Shape'))).toBe(false);
  });
});
