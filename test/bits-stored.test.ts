import { describe, expect, it } from 'vitest';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { decodeDicomImage } from '../src/imaging/decode.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { captureLogger } from './helpers/inference.js';

/**
 * Values with bits set above Bits Stored: masked, as PS3.5 8.1.1 says (the bits above may hold an
 * overlay), and said in a warning where no overlay is declared in them: a modality that writes
 * 14 bits and declares 12 shows one picture in a viewer that does not mask and another here.
 */
describe('values above Bits Stored', () => {
  it('are masked, with a warning that names the file, the attribute, the bits the values need and the fix', async () => {
    const { dataset } = readPart10((await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
    expect(dataset.BitsStored).toBe(12);
    const pixels = new Uint16Array((dataset.PixelData as ArrayBuffer[])[0].slice(0));
    for (let i = 0; i < 50; i++) pixels[i] = 0x3000 | pixels[i]; // 14-bit values in the first 50
    const file = writePart10({ ...dataset, PixelData: [pixels.buffer] });
    const { log, lines } = captureLogger();
    const img = await decodeDicomImage(file, 'fourteen.dcm', log);
    expect(Array.from(img.values.slice(0, 50))).toEqual(Array.from(pixels.slice(0, 50), (v) => v & 0xfff));
    const warned = lines.filter((l) => l.level === 'warn' && l.message.includes('above Bits Stored'));
    expect(warned.map((l) => l.message)).toEqual([expect.stringMatching(/^fourteen\.dcm: 50 of \d+ pixels hold values above Bits Stored \(0028,0101\) 12 \(up to \d+, 14 bits\).*set Bits Stored and High Bit \(0028,0102\)/)]);
    // an overlay declared in the high bits: masked as before, no warning
    const quiet = captureLogger();
    await decodeDicomImage(writePart10({ ...dataset, PixelData: [pixels.buffer], OverlayBitPosition: 13 }), 'overlay.dcm', quiet.log);
    expect(quiet.lines.some((l) => l.message.includes('above Bits Stored'))).toBe(false);
    // the fixture as made: no warning
    const clean = captureLogger();
    await decodeDicomImage(writePart10(dataset), 'clean.dcm', clean.log);
    expect(clean.lines.some((l) => l.message.includes('above Bits Stored'))).toBe(false);
  });
});
