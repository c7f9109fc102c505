import { beforeAll, describe, expect, it } from 'vitest';
import { decodeDicomImage } from '../src/imaging/decode.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';

/**
 * A cut-off or corrupt image is refused with the reason, never analysed: dcmjs would fill a
 * truncated native Pixel Data with zeros, and the codecs decode broken streams into
 * something.
 */
const NAMES = ['hand-left-m2-explicit', 'hand-left-m2-jpeg-lossless', 'hands-both-m2-jpegls', 'hand-right-m1-j2k', 'hand-left-m2-rle'];
const files: Record<string, Buffer> = {};

beforeAll(async () => {
  for (const name of NAMES) files[name] = (await makeFixture(FIXTURES.find((f) => f.name === name)!, false)).dicom;
}, 120_000);

describe('pixel data integrity', () => {
  it('whole files decode', async () => {
    for (const name of NAMES) await expect(decodeDicomImage(files[name], name)).resolves.toMatchObject({ rows: expect.any(Number) });
  }, 60_000);

  it.each(NAMES)('%s cut short is refused, naming the cause', async (name) => {
    const cut = files[name].subarray(0, files[name].length - 1000);
    await expect(decodeDicomImage(cut, name)).rejects.toThrow(/cut off|cannot decode|end marker|RLE/);
  }, 60_000);

  it('pixel values that spell the Pixel Data tag are not taken for it (the image decodes)', async () => {
    const bytes = Buffer.from(files['hand-left-m2-explicit']);
    // the last four 16-bit values: 0x7FE0 0x0010 (the tag's bytes) then a huge "length"
    Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0xff, 0xff, 0xff, 0x7f]).copy(bytes, bytes.length - 8);
    await expect(decodeDicomImage(bytes, 'tag-in-pixels')).resolves.toMatchObject({ rows: 1280 });
  });

  it('a JPEG 2000 stream with its end marker overwritten is refused', async () => {
    const bad = Buffer.from(files['hand-right-m1-j2k']);
    const eoc = bad.lastIndexOf(Buffer.from([0xff, 0xd9]));
    bad[eoc + 1] = 0x00;
    await expect(decodeDicomImage(bad, 'j2k')).rejects.toThrow(/end marker \(FFD9\)/);
  });

  it('an RLE header pointing outside its frame is refused', async () => {
    const bad = Buffer.from(files['hand-left-m2-rle']);
    // the first fragment's RLE header follows the basic offset table item and the fragment item tag
    const item = bad.indexOf(Buffer.from([0xfe, 0xff, 0x00, 0xe0]), bad.lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00])) + 12);
    const fragment = bad.indexOf(Buffer.from([0xfe, 0xff, 0x00, 0xe0]), item + 8 + bad.readUInt32LE(item + 4));
    bad.writeUInt32LE(0x7fffffff, fragment + 8 + 8); // segment 2's offset
    await expect(decodeDicomImage(bad, 'rle')).rejects.toThrow(/RLE segment 2 starts at byte/);
  });
});
