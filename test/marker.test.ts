import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandAnalysis, MarkerReading } from '../src/analysis/hand-analysis.js';
import { checkLaterality, markerCheck, type LabelledSide } from '../src/analysis/laterality.js';
import { DEFAULT_MODELS_DIR, summaryLine } from '../src/cli/analyze.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { writePart10 } from '../src/dicom/part10.js';
import { FONT_5X7 } from '../src/imaging/glyphs.js';
import { toDisplay, type DisplayImage } from '../src/imaging/preprocess.js';
import { readMarkers } from '../src/inference/marker.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { drawMarker } from '../src/phantom/clutter.js';
import { FIXTURES, renderFixture } from '../src/phantom/fixtures.js';
import { artefactsOf } from '../src/phantom/generate.js';
import { turnPhantom } from '../src/phantom/orient.js';
import { Rng } from '../src/phantom/rng.js';
import type { FilmTurn, RenderedPhantom } from '../src/phantom/types.js';
import { analyseObject, analysisPolicy } from '../src/pipeline/analyse-object.js';
import { overlayLayout } from '../src/reports/secondary-capture.js';
import { readingNotes } from '../src/reports/sr/document.js';
import { dciodvfy } from './helpers/dicom-tools.js';
import { captureLogger } from './helpers/inference.js';

/**
 * The film's lead marker (src/inference/marker.ts) read as the radiographer laid it, turned and
 * mirrored with the film, and held against the hand found (src/analysis/laterality.ts): a
 * mirrored letter says the image is shown flipped, which the anatomy alone cannot tell.
 */

/** The phantom's film as the node displays it (12-bit MONOCHROME2, the percentile window). */
function displayOf(r: RenderedPhantom): DisplayImage {
  const values = Uint16Array.from(r.image, (v) => Math.round(v * 4095));
  return toDisplay({ rows: r.rows, columns: r.columns, values, photometric: 'MONOCHROME2', pixelSpacingMm: [r.spec.pixelSpacingMm, r.spec.pixelSpacingMm] });
}

const TURNS: FilmTurn[] = [0, 1, 2, 3].flatMap((quarterTurns) => [false, true].map((mirrored) => ({ quarterTurns: quarterTurns as FilmTurn['quarterTurns'], mirrored })));
/** The header's Image Laterality, as `labelledSide` reads it. */
const imageSide = (side: 'L' | 'R'): LabelledSide => ({ side, says: `Image Laterality (0020,0062) "${side}"` });
const ONE_HAND = FIXTURES.filter((f) => !f.notAHand && f.spec.layout !== 'both');

describe('the lead marker read from the pixels', () => {
  it.each(ONE_HAND.map((f) => [f.name, f] as const))('%s: its letter, turn and mirroring, at every quarter turn, mirrored or not', (_, def) => {
    const upright = renderFixture(def);
    expect(upright.markerAt).toBeDefined();
    for (const turn of TURNS) {
      const film = turnPhantom(upright, turn);
      const read = readMarkers(displayOf(film), film.hands.flatMap((h) => h.joints));
      const where = `${turn.quarterTurns} quarter turns${turn.mirrored ? ', mirrored' : ''}`;
      expect(read, where).toHaveLength(1);
      expect(read[0], where).toMatchObject({ letter: upright.marker, mirrored: turn.mirrored, quarterTurns: turn.quarterTurns });
      expect(Math.hypot(read[0].x - film.markerAt!.x, read[0].y - film.markerAt!.y), where).toBeLessThan(12);
    }
  });

  /** A dark film with lead letters (drawMarker: a lead letter on a plastic tag) and burned-in words. */
  function canvas(draw: (att: Float32Array, w: number, h: number) => void): DisplayImage {
    const [w, h] = [900, 700];
    const att = new Float32Array(w * h);
    draw(att, w, h);
    const data = new Float32Array(w * h);
    for (let i = 0; i < data.length; i++) data[i] = Math.min(1, 0.05 + att[i] / 3);
    return { rows: h, columns: w, data, pixelSpacingMm: [0.15, 0.15] };
  }
  const word = (att: Float32Array, w: number, text: string, x0: number, y0: number, cell: number) => {
    for (const [k, ch] of [...text].entries()) {
      const bits = FONT_5X7[ch];
      for (let r = 0; r < 7; r++) for (let c = 0; c < 5; c++) {
        if (bits[r * 5 + c] !== '1') continue;
        for (let y = 0; y < cell; y++) for (let x = 0; x < cell; x++) att[(y0 + r * cell + y) * w + x0 + (k * 6 + c) * cell + x] = 4;
      }
    }
  };

  it('reads a lone lead letter, but not the letters of burned-in words ("RIGHT", "LEFT", "CR"), nor a letter beside another as large', () => {
    const lone = canvas((att, w, h) => drawMarker(att, w, h, 'R', { x0: 600, y0: 100, x1: 690, y1: 230 }, new Rng(7)));
    expect(readMarkers(lone).map((m) => m.letter)).toEqual(['R']);
    const words = canvas((att, w) => {
      word(att, w, 'RIGHT', 60, 60, 10);
      word(att, w, 'LEFT', 60, 250, 10);
      word(att, w, 'CR', 60, 450, 12);
    });
    expect(readMarkers(words)).toEqual([]);
    // an L under an R as large (a tag's initials in the marker's own type): neither is read
    const tag = canvas((att, w, h) => {
      drawMarker(att, w, h, 'R', { x0: 300, y0: 100, x1: 390, y1: 230 }, new Rng(8));
      drawMarker(att, w, h, 'L', { x0: 300, y0: 215, x1: 390, y1: 345 }, new Rng(9));
    });
    expect(readMarkers(tag)).toEqual([]);
  });

  it('reads nothing on a film without lead: a phantom hand drawn without its marker', () => {
    const def = ONE_HAND[0];
    const r = renderFixture({ ...def });
    // the marker's letter painted over with the tag's own value around it: the film without its lead
    const d = displayOf(r);
    const { x, y } = r.markerAt!;
    const half = Math.round(12 / r.spec.pixelSpacingMm);
    const fill = d.data[Math.round(y - half) * d.columns + Math.round(x - half)];
    for (let yy = Math.round(y - half); yy < y + half; yy++) for (let xx = Math.round(x - half); xx < x + half; xx++) d.data[yy * d.columns + xx] = fill;
    expect(readMarkers(d, r.hands.flatMap((h) => h.joints))).toEqual([]);
  });
});

describe('the marker held against the hand found', () => {
  const marker = (letter: 'L' | 'R', mirrored = false): MarkerReading => ({ letter, mirrored, quarterTurns: 0, x: 10, y: 10, sizeMm: 10, fit: 0.9, margin: 0.2 });
  const analysis = (markers: MarkerReading[], ...sides: ('L' | 'R')[]) =>
    ({ source: { markers }, hands: sides.map((laterality) => ({ laterality, joints: [] })) }) as unknown as HandAnalysis;

  it('agrees where the letter is the side found, and says nothing where the film has two hands or two letters', () => {
    expect(markerCheck(analysis([marker('L')], 'L'))).toMatchObject({ agrees: true, found: 'L' });
    expect(markerCheck(analysis([marker('R')], 'L', 'R'))).toBeUndefined();
    expect(markerCheck(analysis([marker('R'), marker('L')], 'L'))).toBeUndefined();
    expect(markerCheck(analysis([], 'L'))).toBeUndefined();
    // the other hand of a pair, unrecognised, counts: its marker may be the one read
    const pair = { ...analysis([marker('R')], 'L'), notGraded: [{ laterality: 'R', cause: 'unrecognised', reason: 'x' }] } as HandAnalysis;
    expect(markerCheck(pair)).toBeUndefined();
    expect(checkLaterality(analysis([marker('L')], 'L'), imageSide('L'))).toMatchObject({ conflict: false, conflicts: [], marker: { agrees: true } });
  });

  it('disputes a letter of the other side, and warns of a letter read mirrored whatever its side', () => {
    const other = checkLaterality(analysis([marker('R')], 'L'), undefined);
    expect(other.conflict).toBe(true);
    expect(other.message).toMatch(/^laterality check: The film's lead marker reads R, but the hand found is a left hand by its thumb's side/);
    const flipped = checkLaterality(analysis([marker('R', true)], 'L'), imageSide('L'));
    expect(flipped.conflict).toBe(true);
    expect(flipped.message).toMatch(/lead marker R reads mirrored: the image may be stored flipped left to right \(then the left hand found by its thumb's side is the patient's right hand\)/);
    expect(markerCheck(analysis([marker('L', true)], 'L'))?.agrees).toBe(false);
    // both the header and the marker disagree: both said
    const both = checkLaterality(analysis([marker('R')], 'L'), imageSide('R'));
    expect(both.message).toMatch(/labelled R .*; laterality check: The film's lead marker reads R/);
    expect(both.conflicts).toEqual(['header', 'marker']);
    expect(other.conflicts).toEqual(['marker']);
    expect(checkLaterality(analysis([marker('L')], 'L'), imageSide('R')).conflicts).toEqual(['header']);
  });
});

describe('a film stored mirrored, end to end', () => {
  let models: Models;
  let work: string;
  const policy = analysisPolicy(DEFAULT_CONFIG.analysis, new Date(Date.UTC(2026, 0, 2)));
  beforeAll(async () => {
    models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
    work = mkdtempSync(join(tmpdir(), 'jointscore-marker-'));
  }, 60_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the left hand mirrored is found as a right hand; its L marker reads mirrored, and the SR (dciodvfy clean), the overlay and the summary say so', async () => {
    const def = FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!;
    const upright = renderFixture(def);
    const stored = await artefactsOf(upright, def.encoding, { preview: false });
    const flipped = await artefactsOf(turnPhantom(upright, { quarterTurns: 0, mirrored: true }), def.encoding, { preview: false });
    const { log } = captureLogger();
    const plain = await analyseObject(stored.dicom, 'plain.dcm', models, policy, log);
    const mirrored = await analyseObject(flipped.dicom, 'mirrored.dcm', models, policy, log);

    expect(plain.analysis.hands.map((h) => h.laterality)).toEqual(['L']);
    expect(plain.analysis.source.markers).toMatchObject([{ letter: 'L', mirrored: false }]);
    expect(markerCheck(plain.analysis)).toMatchObject({ agrees: true });
    expect(JSON.stringify(readingNotes(plain.analysis))).toContain("The film's lead marker reads L, as the left hand found by its thumb's side.");

    expect(mirrored.analysis.hands.map((h) => h.laterality)).toEqual(['R']);
    expect(mirrored.analysis.source.markers).toMatchObject([{ letter: 'L', mirrored: true, quarterTurns: 0 }]);
    expect(checkLaterality(mirrored.analysis, imageSide('L'))).toMatchObject({ conflict: true });
    const note = /Laterality check: The film's lead marker L reads mirrored: the image may be stored flipped left to right \(then the right hand found by its thumb's side is the patient's left hand\)/;
    expect(JSON.stringify(readingNotes(mirrored.analysis))).toMatch(note);
    const title = (a: HandAnalysis) => JSON.stringify(overlayLayout(a.source.rows, a.source.columns, a).blocks.find((b) => b.block.id === 'title')!.block.lines);
    expect(title(mirrored.analysis)).toMatch(/Laterality check/);
    expect(title(plain.analysis)).not.toMatch(/Laterality check/);
    expect(summaryLine('m', mirrored.analysis)).toMatch(/; laterality check: The film's lead marker L reads mirrored/);

    const sr = await mirrored.objects.find((o) => o.kind === 'sr')!.dataset;
    expect(JSON.stringify(sr)).toMatch(note);
    const file = join(work, 'mirrored.sr.dcm');
    writeFileSync(file, writePart10(sr));
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
  }, 120_000);
});
