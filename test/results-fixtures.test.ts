import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { readNativePixels, storedValues16 } from '../src/dicom/transcode.js';
import { toDisplay } from '../src/imaging/preprocess.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { buildResultObjects, DEFAULT_RESULT_OPTIONS } from '../src/pipeline/results.js';
import { dciodvfy, runTool } from './helpers/dicom-tools.js';

/**
 * The result objects made from phantom fixtures in every transfer syntax and both
 * photometric interpretations pass dciodvfy. The fixtures' ground truth stands in for a
 * model's output here: this tests the writers, not the models.
 */
describe('SR, SC and PR from phantom fixtures', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'js-results-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const def of FIXTURES.filter((f) => !f.notAHand)) {
    it(`${def.name}: dciodvfy finds no error in any of the three`, async () => {
      const fixture = await makeFixture(def, false);
      const native = await readNativePixels(fixture.dicom);
      const source = readPart10(fixture.dicom).dataset;
      const display = toDisplay({
        rows: source.Rows, columns: source.Columns, values: storedValues16(native.pixelData),
        photometric: source.PhotometricInterpretation, pixelSpacingMm: source.PixelSpacing,
      });
      const objects = await buildResultObjects(fixture.truth, source, display, { ...DEFAULT_RESULT_OPTIONS, contentDateTime: new Date(0) });
      for (const [kind, ds] of Object.entries(objects)) {
        expect(ds.StudyInstanceUID).toBe(source.StudyInstanceUID);
        expect(ds.SeriesInstanceUID).not.toBe(source.SeriesInstanceUID);
        const file = join(dir, `${def.name}-${kind}.dcm`);
        writeFileSync(file, writePart10(ds));
        const verdict = dciodvfy(file);
        expect(verdict.errors, `${kind}: ${verdict.output}`).toEqual([]);
      }
      const dump = runTool('dsrdump', [join(dir, `${def.name}-sr.dcm`)]);
      expect(dump.status, dump.stderr).toBe(0);
      expect(dump.stdout).toContain(`${fixture.truth.hands[0].laterality}-MCP2`);
    });
  }

  it('a re-run on the same source yields the same UIDs', async () => {
    const fixture = await makeFixture(FIXTURES[0], false);
    const source = readPart10(fixture.dicom).dataset;
    const native = await readNativePixels(fixture.dicom);
    const display = toDisplay({
      rows: source.Rows, columns: source.Columns, values: storedValues16(native.pixelData),
      photometric: source.PhotometricInterpretation, pixelSpacingMm: source.PixelSpacing,
    });
    const a = await buildResultObjects(fixture.truth, source, display);
    const b = await buildResultObjects(fixture.truth, source, display);
    for (const k of ['sr', 'sc', 'pr'] as const) {
      expect(b[k].SOPInstanceUID).toBe(a[k].SOPInstanceUID);
      expect(b[k].SeriesInstanceUID).toBe(a[k].SeriesInstanceUID);
    }
    expect(new Set([a.sr.SOPInstanceUID, a.sc.SOPInstanceUID, a.pr.SOPInstanceUID]).size).toBe(3);
  });
});
