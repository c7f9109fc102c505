import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { JOINT_SITES, scoresFor } from '../src/analysis/joints.js';
import { analyzeImage } from '../src/inference/analyze.js';
import { decodeHeatmap, decodeYolo, detect } from '../src/inference/detector.js';
import { buildGraderBatch, grade, handsFromGrader } from '../src/inference/grader.js';
import { ManifestError, ModelIntegrityError, parseManifest, readManifest } from '../src/inference/manifest.js';
import { loadDetector, loadGrader, loadModel, loadModels, modelList, type Models } from '../src/inference/models.js';
import { distalDirection, letterbox, sampleCrop, toDisplay } from '../src/imaging/preprocess.js';
import { clearSessions, cudaPrerequisites, getSession, ProviderError, resetProviderState, sessionCount } from '../src/inference/session.js';
import { checkTestVector, readTestVector } from '../src/inference/test-vector.js';
import { captureLogger, copyModel, handAnalysisProblems, spotImage, TINY_MODELS, tinyModel } from './helpers/inference.js';
import { totalsOf } from './helpers/totals.js';

const CPU = { provider: 'cpu' as const };
const channelName = (k: number) => `${k < 21 ? 'L' : 'R'}-${JOINT_SITES[k % 21]}`;
const ALL_CHANNELS = Array.from({ length: 42 }, (_, k) => channelName(k));

describe('detector decoding (pure)', () => {
  it('heatmap: channel maximum, 3 x 3 weighted centroid, back to image pixels, threshold', () => {
    // 2 channels of 8 x 8; channel 0 peaks at (row 3, col 5) with a right neighbour of half its weight
    const h = 8;
    const data = new Float32Array(2 * h * h);
    data[3 * h + 5] = 1;
    data[3 * h + 6] = 0.5;
    data[h * h + 2 * h + 2] = 0.2; // channel 1: under the threshold
    const scale = 0.25; // image = input / 0.25
    const out = decodeHeatmap({ data, dims: [1, 2, h, h] }, { stride: 4, threshold: 0.3, scale, channels: ['L-MCP2', 'R-RC'] });
    expect(out).toHaveLength(1);
    const col = (5 * 1 + 6 * 0.5) / 1.5;
    expect(out[0]).toMatchObject({ laterality: 'L', site: 'MCP2', confidence: 1 });
    expect(out[0].x).toBeCloseTo(((col + 0.5) * 4) / scale, 9);
    expect(out[0].y).toBeCloseTo(((3 + 0.5) * 4) / scale, 9);
  });

  it('heatmap: a peak on the border uses the neighbours that exist', () => {
    const data = new Float32Array(16);
    data[0] = 0.9;
    data[1] = 0.9;
    const [c] = decodeHeatmap({ data, dims: [1, 1, 4, 4] }, { stride: 2, threshold: 0.5, scale: 1, channels: ['R-DIP5'] });
    expect(c.x).toBeCloseTo((0.5 + 0.5) * 2, 9);
    expect(c.y).toBeCloseTo(0.5 * 2, 9);
  });

  it('YOLO: best box per class at or above the threshold, input pixels to image pixels', () => {
    // 3 anchors, 2 classes: rows cx, cy, w, h, score0, score1
    const n = 3;
    const rows = [
      [10, 20, 30], // cx
      [5, 6, 7], // cy
      [4, 4, 8], // w
      [2, 2, 6], // h
      [0.1, 0.8, 0.6], // class 0: anchor 1
      [0.2, 0.1, 0.25], // class 1: below 0.3
    ];
    const data = Float32Array.from(rows.flat());
    const out = decodeYolo({ data, dims: [1, 6, n] }, { threshold: 0.3, scale: 0.5, channels: ['L-PIP3', 'R-MCP1'] });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ laterality: 'L', site: 'PIP3', x: 40, y: 12, box: [36, 10, 44, 14] });
    expect(out[0].confidence).toBeCloseTo(0.8, 6);
  });
});

describe('tiny models, end to end (CPU)', () => {
  let models: Models;
  beforeAll(async () => {
    models = await loadModels(TINY_MODELS, CPU);
  });

  it('the heatmap detector places each joint exactly where its channel peaks (letterbox scale included)', async () => {
    // 1024 x 768: scale 64 / 1024 = 1/16; pooled cell (5, 7) = image rows 320..383, columns 448..511
    const input = spotImage(1024, 768, { r0: 320, r1: 384, c0: 448, c1: 512 });
    const img = toDisplay(input);
    expect(letterbox(img, 64).scale).toBe(1 / 16);
    const found = await detect(img, models.detector.manifest, models.detector.runner);
    expect(found).toHaveLength(42);
    for (const [k, name] of ALL_CHANNELS.entries()) {
      const c = found.find((f) => `${f.laterality}-${f.site}` === name)!;
      const dy = (Math.floor(k / 5) % 5) - 2;
      const dx = (k % 5) - 2;
      // the channel's peak cell is (5 - dy, 7 - dx); its centre in image pixels: (cell + 0.5) * stride 4 * 16
      expect(c.x, name).toBeCloseTo((7 - dx + 0.5) * 64, 3);
      expect(c.y, name).toBeCloseTo((5 - dy + 0.5) * 64, 3);
      expect(c.confidence).toBeGreaterThan(0.999);
    }
    // the unshifted channel (k = 12: dx = dy = 0) lies at the spot's centre
    const k12 = found.find((f) => `${f.laterality}-${f.site}` === ALL_CHANNELS[12])!;
    expect([k12.x, k12.y]).toEqual([480, 352]);
  });

  it('MONOCHROME1 gives the same joints (bone bright after inversion)', async () => {
    const spot = { r0: 320, r1: 384, c0: 448, c1: 512 };
    const m2 = await detect(toDisplay(spotImage(1024, 768, spot)), models.detector.manifest, models.detector.runner);
    const m1 = await detect(toDisplay(spotImage(1024, 768, spot, [0.2, 0.2], 'MONOCHROME1')), models.detector.manifest, models.detector.runner);
    expect(m1.map((c) => [c.x, c.y])).toEqual(m2.map((c) => [c.x, c.y]));
  });

  it('an image with nothing above the threshold gives no joints and no hands', async () => {
    const flat = spotImage(512, 512, { r0: 0, r1: 0, c0: 0, c1: 0 });
    flat.values = new Uint16Array(512 * 512).fill(700); // one value: display 0 everywhere
    const a = await analyzeImage(flat, models);
    expect(a.hands).toEqual([]);
  });

  it('the YOLO-layout detector: best box per class, in image pixels', async () => {
    const yolo = await loadDetector(tinyModel('yolo-detector'), CPU);
    expect(yolo.manifest.output.layout).toBe('yolo');
    // 8 x 8 anchors of 8 input px = 128 image px; the spot fills anchor cell (2, 3)
    const img = toDisplay(spotImage(1024, 768, { r0: 256, r1: 384, c0: 384, c1: 512 }));
    const found = await detect(img, yolo.manifest, yolo.runner);
    const offsets: Record<string, [number, number]> = { 'L-MCP2': [0, 0], 'L-PIP2': [0, 1], 'R-MCP2': [1, 0], 'R-RC': [-1, -1] };
    expect(found.map((f) => `${f.laterality}-${f.site}`).sort()).toEqual(Object.keys(offsets).sort());
    for (const f of found) {
      const [dy, dx] = offsets[`${f.laterality}-${f.site}`];
      const x = (3 - dx + 0.5) * 128;
      const y = (2 - dy + 0.5) * 128;
      expect([f.x, f.y]).toEqual([x, y]);
      expect(f.box).toEqual([x - 96, y - 96, x + 96, y + 96]); // w = h = 12 input px = 192 image px
    }
    // and through the whole pipeline with the grader
    // (the tiny model finds two joints a hand: let the pipeline keep such hands)
    const a = await analyzeImage(spotImage(1024, 768, { r0: 256, r1: 384, c0: 384, c1: 512 }), { detector: yolo, grader: models.grader }, undefined, { minJointsPerHand: 1 });
    expect(a.hands.map((h) => [h.laterality, h.joints.map((j) => j.site)])).toEqual([
      ['L', ['PIP2', 'MCP2']],
      ['R', ['MCP2', 'RC']],
    ]);
    expect(handAnalysisProblems(a)).toEqual([]);
    // L-MCP2 sits in the middle of the flat bright spot: nothing to see there, so not graded
    const blank = a.hands[0].joints.find((j) => j.site === 'MCP2')!;
    expect(blank.notGraded?.cause).toBe('exposure');
    expect([blank.jsn, blank.erosion, blank.kl, blank.severity]).toEqual([undefined, undefined, undefined, {}]);
    expect(a.hands[0].joints.find((j) => j.site === 'PIP2')!.notGraded).toBeUndefined();
  });

  it('grader batch: crops turned by the distal direction of the same hand, meta = one-hot site + cos/sin', () => {
    const img = toDisplay(spotImage(400, 300, { r0: 100, r1: 140, c0: 100, c1: 140 }, [0.2, 0.25]));
    const cands = [
      { laterality: 'L' as const, site: 'MCP3' as const, x: 120, y: 200, confidence: 0.9 },
      { laterality: 'L' as const, site: 'PIP3' as const, x: 150, y: 120, confidence: 0.9 },
      { laterality: 'R' as const, site: 'MCP3' as const, x: 50, y: 50, confidence: 0.9 }, // alone on its hand: up
    ];
    const b = buildGraderBatch(img, cands, 16, 0.5);
    expect(b.n).toBe(3);
    const dL = distalDirection('MCP3', { MCP3: { x: 120, y: 200 }, PIP3: { x: 150, y: 120 } });
    expect(dL).toEqual({ x: 30, y: -80 });
    const angle = Math.atan2(-80, 30);
    const meta0 = Array.from(b.meta.subarray(0, 23));
    expect(meta0.slice(0, 21)).toEqual(JOINT_SITES.map((s) => (s === 'MCP3' ? 1 : 0)));
    expect(meta0[21]).toBeCloseTo(Math.cos(angle), 6);
    expect(meta0[22]).toBeCloseTo(Math.sin(angle), 6);
    expect(Array.from(b.crop.subarray(0, 256))).toEqual(Array.from(sampleCrop(img, { x: 120, y: 200, distal: dL }, 16, 0.5)));
    // the right hand's lone MCP3: distal = image up, angle -90 degrees
    expect(b.meta[2 * 23 + 21]).toBeCloseTo(0, 6);
    expect(b.meta[2 * 23 + 22]).toBeCloseTo(-1, 6);
  });

  it('grader outputs -> HandAnalysis: geometry in mm to pixels, only scored sites graded, probabilities sum to 1', async () => {
    // the whole pipeline on square pixels; the tiny untrained detector's "hands" lie anyhow: the PA-view check is off here
    const square = spotImage(1024, 768, { r0: 320, r1: 384, c0: 448, c1: 512 }, [0.25, 0.25]);
    const a = await analyzeImage(square, models, undefined, { paViewsOnly: false });
    expect(handAnalysisProblems(a)).toEqual([]);
    const { jointsReadAtMm, ...source } = a.source;
    expect(source).toEqual({ sopInstanceUID: square.sopInstanceUID, rows: 1024, columns: 768, pixelSpacingMm: [0.25, 0.25], pixelSpacingFrom: 'header' });
    // the tiny detector's joints make a hand within 1.25 of the header's scale: the header's measures, the joints are read at the hand's
    expect(jointsReadAtMm).toBeDefined();
    const [readAt] = jointsReadAtMm!;
    expect(readAt).not.toBe(0.25);
    expect(Math.max(readAt / 0.25, 0.25 / readAt)).toBeLessThanOrEqual(1.25);
    expect(a.models.map((m) => m.name)).toEqual(['tiny-heatmap-detector', 'tiny-grader']);
    expect(a.models[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.hands.map((h) => h.laterality)).toEqual(['L', 'R']);
    // the grader's step alone on pixels that are not square (within the 1 % the pipeline leaves
    // as they are, its geometry is still read per axis): rows 0.2 mm, columns 0.25 mm, told apart
    const spacing: [number, number] = [0.2, 0.25];
    const input = toDisplay(spotImage(1024, 768, { r0: 320, r1: 384, c0: 448, c1: 512 }, spacing));
    const detected = await detect(input, models.detector.manifest, models.detector.runner);
    const hands = await grade(input, detected, models.grader.manifest, models.grader.runner);
    expect(hands.map((h) => h.laterality)).toEqual(['L', 'R']);
    for (const h of hands) {
      expect(h.joints.map((j) => j.site)).toEqual([...JOINT_SITES]);
      for (const j of h.joints) {
        const d = detected.find((c) => c.laterality === h.laterality && c.site === j.site)!;
        // tiny grader geometry: dx = 1 mm, dy = -2 mm, w = 6 mm, h = 4 mm
        expect(j.x).toBeCloseTo(d.x + 1 / 0.25, 4);
        expect(j.y).toBeCloseTo(d.y - 2 / 0.2, 4);
        expect(j.box[2] - j.box[0]).toBeCloseTo(6 / 0.25, 4);
        expect(j.box[3] - j.box[1]).toBeCloseTo(4 / 0.2, 4);
        expect(j.confidence).toBe(d.confidence);
        // the spot is a flat block at the top of the range with sharp edges, as metal is: a joint on it is not graded
        const onSpot = d.x >= 448 && d.x < 512 && d.y >= 320 && d.y < 384;
        expect(j.notGraded?.cause).toBe(onSpot ? 'metal' : undefined);
        if (onSpot) continue;
        const graded = (['jsn', 'erosion', 'kl'] as const).filter((s) => j[s]);
        expect(graded).toEqual(scoresFor(j.site));
        for (const s of graded) expect(j[s]!.probabilities.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
        expect(j.severity.ra !== undefined).toBe(j.jsn !== undefined);
        expect(j.severity.oa !== undefined).toBe(j.kl !== undefined);
      }
      const dip2 = h.joints.find((j) => j.site === 'DIP2')!;
      expect([dip2.jsn, dip2.erosion, dip2.kl !== undefined]).toEqual([undefined, undefined, true]);
      expect(totalsOf(h.summary).svhJsn).toBe(h.joints.reduce((s, j) => s + (j.jsn?.grade ?? 0), 0));
    }
    // the tiny grader's grades depend on the site: not all the same
    expect(new Set(hands[0].joints.filter((j) => j.kl).map((j) => j.kl!.grade)).size).toBeGreaterThan(1);
  });

  it('handsFromGrader refuses outputs that are not probabilities', () => {
    const batch = { crop: new Float32Array(0), meta: new Float32Array(23), n: 1, angles: [0], rows: [{ laterality: 'L' as const, site: 'MCP2' as const, x: 1, y: 1, confidence: 1 }] };
    const p = (xs: number[]) => ({ data: Float32Array.from(xs), dims: [1, xs.length] });
    const good = { jsn: p([1, 0, 0, 0, 0]), erosion: p([1, 0, 0, 0, 0, 0]), kl: p([0, 1, 0, 0, 0]), geometry: p([0, 0, 1, 1]) };
    expect(handsFromGrader(batch, good, [1, 1])[0].joints[0].kl!.grade).toBe(1);
    expect(() => handsFromGrader(batch, { ...good, jsn: p([3, 2, 1, 0, 0]) }, [1, 1])).toThrow(/"jsn" row 0 is not a probability vector/);
  });

  it('a joint the grader moves to the film edge is not graded, though its crop lay inside', () => {
    // the detector's point 6 mm below the top edge (0.2 mm pixels), the grader's centre 2.5 mm above it
    const batch = { crop: new Float32Array(0), meta: new Float32Array(23), n: 1, angles: [0], rows: [{ laterality: 'L' as const, site: 'PIP3' as const, x: 100, y: 30, confidence: 1 }] };
    const p = (xs: number[]) => ({ data: Float32Array.from(xs), dims: [1, xs.length] });
    const out = { jsn: p([0, 1, 0, 0, 0]), erosion: p([0, 1, 0, 0, 0, 0]), kl: p([0, 0, 1, 0, 0]), geometry: p([0, -2.5, 8, 8]) };
    const film = { rows: 400, columns: 300, pixelSpacingMm: [0.2, 0.2] as [number, number] };
    const [moved] = handsFromGrader(batch, out, [0.2, 0.2], [], film)[0].joints;
    expect([moved.y, moved.jsn, moved.notGraded]).toEqual([17.5, undefined, { cause: 'out-of-view', reason: 'PIP3 lies 3.5 mm from the edge of the image: part of the joint is out of view' }]);
    // kept where it stays inside, and where the film's size is not given
    expect(handsFromGrader(batch, { ...out, geometry: p([0, 1, 8, 8]) }, [0.2, 0.2], [], film)[0].joints[0].jsn!.grade).toBe(1);
    expect(handsFromGrader(batch, out, [0.2, 0.2])[0].joints[0].jsn!.grade).toBe(1);
  });

  it('a grader with a width output: mm to a hundredth at the finger joints only, none on a joint not graded', () => {
    const at = (site: 'MCP2' | 'RC' | 'PIP3', x: number) => ({ laterality: 'L' as const, site, x, y: 1, confidence: 1 });
    const rows = [at('MCP2', 1), at('RC', 2), at('PIP3', 3)];
    const batch = { crop: new Float32Array(0), meta: new Float32Array(3 * 23), n: 3, angles: [0, 0, 0], rows };
    const t = (xs: number[], w: number) => ({ data: Float32Array.from(xs), dims: [xs.length / w, w] });
    const out = {
      jsn: t([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0], 5), erosion: t([...[1, 0, 0, 0, 0, 0], ...[1, 0, 0, 0, 0, 0], ...[1, 0, 0, 0, 0, 0]], 6),
      kl: t([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0], 5), geometry: t(new Array(12).fill(0).map((_, i) => (i % 4 > 1 ? 1 : 0)), 4),
      jsw: t([1.23456, 1.9, 0.8], 1),
    };
    const joints = handsFromGrader(batch, out, [0.1, 0.1])[0].joints;
    expect(joints.map((j) => [j.site, j.jswMm])).toEqual([['PIP3', 0.8], ['MCP2', 1.23], ['RC', undefined]]);
    // crops read at a hand's own scale (0.1 mm) on a film of 0.125 mm: widths in the film's mm, boxes in its pixels
    const film = { rows: 400, columns: 300, pixelSpacingMm: [0.125, 0.125] as [number, number] };
    const inside = { ...batch, rows: rows.map((r) => ({ ...r, x: 100 + r.x, y: 200 })) };
    const onFilm = handsFromGrader(inside, out, [0.1, 0.1], [], film)[0].joints;
    expect(onFilm.map((j) => [j.site, j.jswMm])).toEqual([['PIP3', 1], ['MCP2', 1.54], ['RC', undefined]]);
    expect(onFilm[1].box[2] - onFilm[1].box[0]).toBeCloseTo(1 / 0.1, 9);
    const notGraded = [{ cause: 'uncertain' as const, reason: 'detector confidence 0.2 under 0.4' }];
    expect(handsFromGrader(batch, out, [0.1, 0.1], notGraded)[0].joints.find((j) => j.site === 'MCP2')!.jswMm).toBeUndefined();
    expect(() => handsFromGrader(batch, { ...out, jsw: t([1, -0.5, 1], 1) }, [0.1, 0.1])).toThrow(/"jsw" row 1 is -0.5/);
    expect(() => handsFromGrader(batch, { ...out, jsw: t([1, 1], 1) }, [0.1, 0.1])).toThrow(/"jsw" has 2 values, expected 3/);
    // without the output (a site's own grader), no widths
    const { jsw: _w, ...without } = out;
    expect(handsFromGrader(batch, without, [0.1, 0.1])[0].joints.every((j) => j.jswMm === undefined)).toBe(true);
  });

  it('sessions are made once and reused', async () => {
    const before = sessionCount();
    const again = await loadModels(TINY_MODELS, CPU);
    expect(again.detector.runner).toBe(models.detector.runner);
    expect(again.grader.runner).toBe(models.grader.runner);
    expect(sessionCount()).toBe(before);
  });

  it('weights replaced on disk (with their manifest) get a new session, not the cached one', async () => {
    const dir = copyModel('jointscore-detector');
    const first = await loadModel(dir, CPU);
    expect((await loadModel(dir, CPU)).runner).toBe(first.runner);
    cpSync(tinyModel('yolo-detector'), dir, { recursive: true });
    const second = await loadModel(dir, CPU);
    expect(second.runner).not.toBe(first.runner);
    expect(second.runner.outputs.map((o) => o.name)).toEqual(['output0']);
  });

  it("the tiny grader reproduces its test-vector.json", async () => {
    const v = await readTestVector(join(tinyModel('jointscore-grader'), 'test-vector.json'), models.grader.manifest);
    const r = await checkTestVector(models.grader.runner, v);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    expect(r.checks.map((c) => c.what).sort()).toEqual(['erosion', 'geometry', 'jsn', 'kl']);
    // and a wrong expectation is caught
    v.expectations[0].expected[0] += 0.01;
    expect((await checkTestVector(models.grader.runner, v)).ok).toBe(false);
  });
});

describe('manifest and weights checks', () => {
  const detectorManifest = () => JSON.parse(readFileSync(join(tinyModel('jointscore-detector'), 'manifest.json'), 'utf8'));

  it('a corrupted model file (bytes flipped) is refused on sha256, naming the file, before any session', async () => {
    const dir = copyModel('jointscore-detector');
    const file = join(dir, 'model.onnx');
    const bytes = readFileSync(file);
    for (let i = 200; i < 210; i++) bytes[i] ^= 0xff;
    writeFileSync(file, bytes);
    const before = sessionCount();
    const err = await loadModel(dir, CPU).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelIntegrityError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain('sha256 mismatch');
    expect((err as Error).message).toContain(join(dir, 'manifest.json'));
    expect(sessionCount()).toBe(before);
  });

  it('a manifest whose input shape differs from the model is a clear error', async () => {
    const dir = copyModel('jointscore-detector');
    const m = detectorManifest();
    m.input.shape = [1, 1, 128, 128];
    m.input.size = 128;
    m.output.shape = [1, 42, 32, 32];
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    await expect(loadModel(dir, CPU)).rejects.toThrow(ManifestError);
    await expect(loadModel(dir, CPU)).rejects.toThrow(
      `${join(dir, 'manifest.json')}: input.shape: found [1,1,128,128], but ${join(dir, 'model.onnx')} has input "image" of shape [1, 1, 64, 64]`,
    );
  });

  it('a manifest naming an output the model lacks, or a fixed batch where the model has a dynamic one, is a clear error', async () => {
    const dir = copyModel('jointscore-grader');
    const path = join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    m.outputs.kl.name = 'kellgren';
    writeFileSync(path, JSON.stringify(m));
    await expect(loadModel(dir, CPU)).rejects.toThrow(/outputs\.kl\.name: found "kellgren", which .*model\.onnx does not have \(its outputs: "jsn", "erosion", "kl", "geometry"\)/);
  });

  it('the optional width output: declared where the model lacks it, or of the wrong width, is a clear error', async () => {
    const dir = copyModel('jointscore-grader');
    const path = join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...m, outputs: { ...m.outputs, jsw: { name: 'jsw', shape: [-1, 1] } } }));
    await expect(loadModel(dir, CPU)).rejects.toThrow(/outputs\.jsw\.name: found "jsw", which .*model\.onnx does not have/);
    writeFileSync(path, JSON.stringify({ ...m, outputs: { ...m.outputs, jsw: { name: 'jsw', shape: [-1, 2] } } }));
    await expect(loadModel(dir, CPU)).rejects.toThrow(/outputs\.jsw\.shape.*\[-1, 1\]/);
  });

  it('a manifest missing a field names the file, the field, what was found and what was expected', () => {
    const m = detectorManifest();
    delete m.input.size;
    expect(() => parseManifest(m, '/x/manifest.json')).toThrow(
      '/x/manifest.json: input.size: found nothing (field missing), expected a positive integer (the square input side S)',
    );
    const g = detectorManifest();
    delete g.output.stride;
    expect(() => parseManifest(g, 'm.json')).toThrow('m.json: output.stride: found nothing (field missing), expected a positive integer');
    const t = detectorManifest();
    t.task = 'segmenter';
    expect(() => parseManifest(t, 'm.json')).toThrow('m.json: task: found "segmenter", expected one of "detector", "grader"');
    const c = detectorManifest();
    c.channels[3] = 'L-MCP9';
    expect(() => parseManifest(c, 'm.json')).toThrow(/m\.json: channels\[3\]: found "L-MCP9", expected a laterality and a site/);
    const dup = detectorManifest();
    dup.channels[5] = dup.channels[4];
    expect(() => parseManifest(dup, 'm.json')).toThrow('m.json: channels[5]: found "L-PIP2", expected each joint once');
    const s = detectorManifest();
    s.sha256 = 'abc';
    expect(() => parseManifest(s, 'm.json')).toThrow('m.json: sha256: found "abc", expected 64 hexadecimal digits');
    const o = detectorManifest();
    o.output.shape = [1, 42, 32, 32];
    expect(() => parseManifest(o, 'm.json')).toThrow('m.json: output.shape: found [1,42,32,32], expected [1, 42, 16, 16]');
    const cal = detectorManifest();
    cal.calibration = { handMinJoints: 14, handMinMeanConfidence: 0.55, jointMinConfidence: 0.4, partialMinMeanConfidence: 1.5 };
    expect(() => parseManifest(cal, 'm.json')).toThrow('m.json: calibration.partialMinMeanConfidence: found 1.5, expected a number from 0 to 1');
    cal.calibration.partialMinMeanConfidence = 0.5;
    expect(parseManifest(cal, 'm.json')).toMatchObject({ calibration: { partialMinMeanConfidence: 0.5 } });
  });

  it('a missing manifest or a file that is not JSON says so', async () => {
    await expect(readManifest('/nonexistent/jointscore-detector')).rejects.toThrow(
      '/nonexistent/jointscore-detector/manifest.json: no manifest here; a model folder holds model.onnx and manifest.json',
    );
    const dir = copyModel('jointscore-grader');
    writeFileSync(join(dir, 'manifest.json'), '{ not json');
    await expect(readManifest(dir)).rejects.toThrow(/manifest\.json: \(whole file\): found text that is not JSON/);
  });

  it('a grader folder given as the detector is refused', async () => {
    await expect(loadDetector(tinyModel('jointscore-grader'), CPU)).rejects.toThrow(/task: found "grader", expected "detector"/);
    await expect(loadGrader(tinyModel('jointscore-detector'), CPU)).rejects.toThrow(/task: found "detector", expected "grader"/);
  });
});

describe('execution providers', () => {
  it("'auto' on this machine falls back to CPU with exactly one log line saying why", async () => {
    resetProviderState();
    clearSessions();
    const { log, lines } = captureLogger();
    const d = await loadModel(tinyModel('jointscore-detector'), { provider: 'auto', log });
    const g = await loadModel(tinyModel('jointscore-grader'), { provider: 'auto', log });
    if (cudaPrerequisites().available && d.runner.provider === 'cuda') {
      // a machine with onnxruntime's CUDA libraries and a GPU: CUDA, and nothing to say
      expect(g.runner.provider).toBe('cuda');
      expect(lines).toHaveLength(0);
      return;
    }
    expect(d.runner.provider).toBe('cpu');
    expect(g.runner.provider).toBe('cpu');
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe('warn');
    expect(lines[0].message).toMatch(/^provider auto: CUDA is unavailable, running on CPU: .+/);
  });

  it.skipIf(cudaPrerequisites().available)("'cuda' where CUDA is unavailable is an error saying why, not a silent CPU run", async () => {
    resetProviderState();
    await expect(loadModel(tinyModel('jointscore-detector'), { provider: 'cuda' })).rejects.toThrow(ProviderError);
    await expect(loadModel(tinyModel('jointscore-detector'), { provider: 'cuda' })).rejects.toThrow(/provider "cuda" requested but/);
  });

  it('intra-op threads are part of the session key', async () => {
    const bytes = readFileSync(join(tinyModel('jointscore-detector'), 'model.onnx'));
    const a = await getSession('/virtual/a.onnx', () => bytes, { provider: 'cpu', intraOpThreads: 1 });
    const b = await getSession('/virtual/a.onnx', () => bytes, { provider: 'cpu', intraOpThreads: 2 });
    const c = await getSession('/virtual/a.onnx', () => bytes, { provider: 'cpu', intraOpThreads: 1 });
    expect(a).not.toBe(b);
    expect(a).toBe(c);
  });
});

const REAL_MODELS = fileURLToPath(new URL('../models/', import.meta.url));
const REAL_PRESENT = existsSync(join(REAL_MODELS, 'jointscore-detector', 'manifest.json'));
const realSkipNote = REAL_PRESENT ? '' : ' (SKIPPED: models/jointscore-detector/manifest.json is absent; the real models are not installed yet)';

describe('the real models', () => {
  it.skipIf(!REAL_PRESENT)(`load, pass their manifest checks and reproduce their test-vector.json${realSkipNote}`, async () => {
    const models = await loadModels(REAL_MODELS, CPU);
    for (const m of modelList(models)) {
      const file = join(dirname(m.modelPath), 'test-vector.json');
      expect(existsSync(file), `${file} should exist beside the model`).toBe(true);
      const r = await checkTestVector(m.runner, await readTestVector(file, m.manifest));
      expect(r.ok, `${file}: ${JSON.stringify(r.checks)}`).toBe(true);
      expect(r.checks.length).toBeGreaterThan(0);
    }
    // and they run on a real-size image through the whole pipeline
    const a = await analyzeImage(spotImage(1280, 1024, { r0: 400, r1: 500, c0: 400, c1: 500 }), models);
    expect(handAnalysisProblems(a)).toEqual([]);
  });
  if (!REAL_PRESENT) it('notes why the real-model test is skipped', () => console.warn(`inference.test.ts: real-model test${realSkipNote}`));
});
