import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR } from '../src/cli/analyze.js';
import { writePart10 } from '../src/dicom/part10.js';
import { decideContext } from '../src/dimse/negotiation.js';
import { decodeDicomImage } from '../src/imaging/decode.js';
import { analyzeImage } from '../src/inference/analyze.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { buildPhantomDxDataset } from '../src/phantom/dicom-dx.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';
import { fakePhantom } from './helpers/fake-phantom.js';
import { asHtj2k, HTJ2K, HTJ2K_LOSSLESS, HTJ2K_LOSSLESS_RPCL, ojphExpand } from './helpers/openjph.js';

/**
 * High-Throughput JPEG 2000 (PS3.5 A.4.11): archives and viewers store and stream it, and an
 * archive routing what it holds sends it as stored. The node accepts it and decodes it as
 * OpenJPH (an independent implementation: Debian's openjph-tools) encodes and decodes it.
 */

const DX = '1.2.840.10008.5.1.4.1.1.1.1';
let models: Models;
let hand: Uint8Array;

beforeAll(async () => {
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
  hand = (await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom;
}, 60_000);

describe('High-Throughput JPEG 2000', () => {
  it.each([10, 12, 16])('decodes OpenJPH lossless codestreams of %i-bit films value for value, under either lossless UID', async (bitsStored) => {
    const phantom = fakePhantom({ rows: 96, columns: 80, seed: bitsStored });
    const native = writePart10(buildPhantomDxDataset(phantom, { bitsStored }).dataset);
    for (const syntax of [HTJ2K_LOSSLESS, HTJ2K_LOSSLESS_RPCL]) {
      const { bytes, stored } = asHtj2k(native, syntax);
      const img = await decodeDicomImage(bytes, `ht-${bitsStored}.dcm`);
      expect(img.transferSyntaxUID).toBe(syntax);
      expect(Array.from(img.values)).toEqual(Array.from(stored));
    }
  });

  it('decodes a lossy codestream as OpenJPH decodes it', async () => {
    const { bytes, codestream, stored } = asHtj2k(hand, HTJ2K, { qstep: 0.002 });
    const ours = (await decodeDicomImage(bytes, 'lossy.dcm')).values;
    const theirs = ojphExpand(codestream);
    let [worst, changed] = [0, 0];
    for (let i = 0; i < theirs.length; i++) {
      worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
      if (theirs[i] !== stored[i]) changed++;
    }
    expect(worst).toBeLessThanOrEqual(1);
    // it is lossy: the decoded film is not the stored one
    expect(changed).toBeGreaterThan(theirs.length / 100);
  });

  it('analyses a hand stored in HTJ2K as the same hand stored uncompressed', async () => {
    const a = await analyzeImage(await decodeDicomImage(hand, 'native.dcm'), models);
    const b = await analyzeImage(await decodeDicomImage(asHtj2k(hand, HTJ2K_LOSSLESS).bytes, 'ht.dcm'), models);
    expect(a.hands.length).toBeGreaterThan(0);
    expect(b.hands).toEqual(a.hands);
  }, 60_000);

  it('is accepted in a presentation context, lossless first where the peer proposes it first', () => {
    for (const syntax of [HTJ2K_LOSSLESS, HTJ2K_LOSSLESS_RPCL, HTJ2K]) {
      expect(decideContext(DX, [syntax, '1.2.840.10008.1.2.1'])).toEqual({ accept: true, transferSyntaxUid: syntax });
    }
  });
});
