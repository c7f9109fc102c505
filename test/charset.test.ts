import { describe, expect, it } from 'vitest';
import { asSingleJapaneseCharset, readPart10, writePart10 } from '../src/dicom/part10.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { withPatientName, YAMADA_ISO2022 } from './helpers/dx.js';

/** Japanese objects (Specific Character Set \ISO 2022 IR 87) are read, not quarantined. */
async function japanese(): Promise<Buffer> {
  const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
  return withPatientName(writePart10({ ...dataset, SpecificCharacterSet: ['', 'ISO 2022 IR 87'] }), YAMADA_ISO2022);
}

describe('Japanese character sets', () => {
  it('reads a name in ISO 2022 IR 87 (PS3.5 H.3.1) with its ideographic and phonetic groups', async () => {
    const file = await japanese();
    const { dataset } = readPart10(file);
    const name = (dataset.PatientName as { Alphabetic: string; Ideographic: string; Phonetic: string }[])[0];
    expect(name).toEqual({ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' });
    // the caller's bytes are left as they were
    expect(Buffer.from(file).includes(Buffer.from('\\ISO 2022 IR 87', 'latin1'))).toBe(true);
  });

  it('leaves other character sets to dcmjs, unchanged', async () => {
    const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
    for (const charset of ['ISO_IR 100', ['ISO 2022 IR 13', 'ISO 2022 IR 87'], 'ISO_IR 192']) {
      const file = writePart10({ ...dataset, SpecificCharacterSet: charset });
      expect(asSingleJapaneseCharset(file)).toBe(file);
    }
  });

  it('the results of a Japanese-named image carry the name in UTF-8 (ISO_IR 192); dciodvfy clean', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { buildSrDataset } = await import('../src/reports/sr/document.js');
    const { dciodvfy } = await import('./helpers/dicom-tools.js');
    const fixture = await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false);
    const source = readPart10(withPatientName(writePart10({ ...readPart10(fixture.dicom).dataset, SpecificCharacterSet: ['', 'ISO 2022 IR 87'] }), YAMADA_ISO2022)).dataset;
    const sr = buildSrDataset(fixture.truth, source, { sopClass: 'comprehensive3d', seriesNumber: 9001, seriesDescription: 'x', manufacturer: 'm', deviceName: 'd', algorithmName: 'a', algorithmVersion: '1' });
    const dir = mkdtempSync(join(tmpdir(), 'jointscore-charset-'));
    try {
      const file = join(dir, 'sr.dcm');
      writeFileSync(file, writePart10(sr));
      const back = readPart10(new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(file)))).dataset;
      expect(back.SpecificCharacterSet).toBe('ISO_IR 192');
      expect((back.PatientName as { Ideographic: string }[])[0].Ideographic).toBe('山田^太郎');
      const v = dciodvfy(file);
      expect(v.errors, v.output).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
