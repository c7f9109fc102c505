import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Command } from 'commander';
import {
  SHEET_METRICS,
  cellHeight,
  fitText,
  histogramOverlap,
  histogramSvg,
  layoutContactSheet,
  makeContactSheet,
  meanHistogram,
  pickEvenly,
  posterise,
  renderContactSheet,
} from '../src/phantom/contact-sheet.js';
import { registerContactSheet } from '../src/cli/contact-sheet.js';

let dir: string;
let phantoms: string;
let real: string;

function gradient(w: number, h: number): Buffer {
  const b = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b[y * w + x] = Math.round((255 * (x + y)) / (w + h - 2));
  return b;
}

function disc(w: number, h: number, inside: number, outside: number): Buffer {
  const b = Buffer.alloc(w * h, outside);
  const r = Math.min(w, h) / 3;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x - w / 2) ** 2 + (y - h / 2) ** 2 < r * r) b[y * w + x] = inside;
  return b;
}

const grey = (buf: Buffer, w: number, h: number) => sharp(buf, { raw: { width: w, height: h, channels: 1 } });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'jointscore-contact-'));
  phantoms = path.join(dir, 'phantoms');
  real = path.join(dir, 'real');
  await mkdir(phantoms);
  await mkdir(real);
  await grey(gradient(200, 250), 200, 250).png().toFile(path.join(phantoms, 'phantom-1.png'));
  await grey(disc(300, 360, 230, 20), 300, 360).png().toFile(path.join(phantoms, 'phantom-2.png'));
  // a 16-bit grey PNG, as a DICOM-ish export might be
  const w = 160, h = 200;
  const g16 = new Uint16Array(w * h); // a Uint16Array tells sharp the raw depth is ushort
  for (let i = 0; i < w * h; i++) g16[i] = Math.round((65535 * (i % w)) / (w - 1));
  await sharp(g16, { raw: { width: w, height: h, channels: 1 } }).toColourspace('grey16').png().toFile(path.join(phantoms, 'phantom-10.png'));
  // film-like texture: a soft ramp with seeded noise (many grey levels, the palette's hard case)
  {
    const w = 240, h = 300;
    const b = Buffer.alloc(w * h);
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b[y * w + x] = Math.max(0, Math.min(255, Math.round(40 + (170 * y) / h + 30 * (rnd() - 0.5))));
    await grey(b, w, h).png().toFile(path.join(phantoms, 'phantom-3.png'));
  }
  await writeFile(path.join(phantoms, 'notes.txt'), 'not an image');
  // real: a wide grey PNG, an RGB PNG, a JPEG
  await grey(disc(400, 300, 180, 60), 400, 300).png().toFile(path.join(real, 'hand-a.png'));
  await grey(gradient(250, 250), 250, 250).toColourspace('srgb').png().toFile(path.join(real, 'hand-b.png'));
  await grey(disc(240, 320, 250, 0), 240, 320).jpeg({ quality: 90 }).toFile(path.join(real, 'hand-c.jpg'));
  await writeFile(path.join(real, 'README.md'), '# not an image');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('layout (pure)', () => {
  it('places cells in a grid that fits the sheet, without overlaps', () => {
    const L = layoutContactSheet(5, 3, { tile: 100, perRow: 4 });
    const m = SHEET_METRICS;
    expect(L.width).toBe(2 * m.margin + 4 * 100 + 3 * m.gap);
    expect(L.tileHeight).toBe(125);
    expect(L.cells).toHaveLength(8);
    // synthetic: 2 rows, real: 1 row
    const ch = cellHeight(100);
    const expectedHeight = m.margin + m.headerHeight + (m.sectionHeight + 2 * ch + m.gap) + m.gap + (m.sectionHeight + ch) + m.margin;
    expect(L.height).toBe(expectedHeight);
    const boxes = L.cells.map((c) => ({ x0: c.x, y0: c.labelY, x1: c.x + L.tileWidth, y1: c.histY + L.histHeight }));
    for (const b of boxes) {
      expect(b.x0).toBeGreaterThanOrEqual(0);
      expect(b.x1).toBeLessThanOrEqual(L.width);
      expect(b.y1).toBeLessThanOrEqual(L.height);
    }
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j];
        const overlap = a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
        expect(overlap, `cells ${i} and ${j} overlap`).toBe(false);
      }
    // real cells start below every synthetic cell
    const lastSynth = Math.max(...L.cells.filter((c) => c.group === 'synthetic').map((c) => c.histY + L.histHeight));
    expect(Math.min(...L.cells.filter((c) => c.group === 'real').map((c) => c.labelY))).toBeGreaterThan(lastSynth);
  });

  it('draws one bar per non-empty bin and the other group as a line', () => {
    const h = [0.5, 0, 0.25, 0.25];
    const svg = histogramSvg(h, { x: 0, y: 0, width: 40, height: 20, colour: '#00f', other: [0.25, 0.25, 0.25, 0.25] });
    expect(svg.match(/fill="#00f"/g)).toHaveLength(3);
    expect(svg).toContain('<polyline');
    expect(histogramSvg(h, { x: 0, y: 0, width: 40, height: 20, colour: '#00f' })).not.toContain('<polyline');
  });

  it('has small helpers that behave', () => {
    expect(pickEvenly([1, 2, 3, 4, 5], 3)).toEqual([1, 3, 5]);
    expect(pickEvenly([1, 2], 5)).toEqual([1, 2]);
    expect(fitText('shsnet_train_img84.png', 10)).toHaveLength(10);
    expect(fitText('short.png', 10)).toBe('short.png');
    expect([...posterise(new Uint8Array([0, 1, 2, 3, 254, 255]), 2)]).toEqual([1, 1, 3, 3, 255, 255]);
    expect(histogramOverlap([0.5, 0.5], [0.5, 0.5])).toBeCloseTo(1);
    expect(histogramOverlap([1, 0], [0, 1])).toBe(0);
    expect(meanHistogram([[1, 0], [0, 1]])).toEqual([0.5, 0.5]);
  });
});

describe('contact sheet (sharp)', () => {
  it('renders a grid of the expected size with tiles and histograms that are not blank', async () => {
    const out = path.join(dir, 'docs', 'sheet.png');
    const tile = 128;
    const sheet = await makeContactSheet({ phantomsDir: phantoms, realDir: real, outFile: out, tile });
    expect(sheet.synthetic.map((f) => path.basename(f))).toEqual(['phantom-1.png', 'phantom-2.png', 'phantom-3.png', 'phantom-10.png']);
    expect(sheet.real.map((f) => path.basename(f))).toEqual(['hand-a.png', 'hand-b.png', 'hand-c.jpg']);
    expect((await stat(out)).size).toBe(sheet.png.length);
    expect(sheet.png.length).toBeLessThan(300 * 1024);

    const m = SHEET_METRICS;
    const L = layoutContactSheet(4, 3, { tile, perRow: 4 });
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(2 * m.margin + 4 * tile + 3 * m.gap);
    expect([meta.width, meta.height]).toEqual([L.width, L.height]);

    const { data, info } = await sharp(out).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const region = (x: number, y: number, w: number, h: number) => {
      const px: [number, number, number][] = [];
      for (let yy = y; yy < y + h; yy++)
        for (let xx = x; xx < x + w; xx++) {
          const i = (yy * info.width + xx) * info.channels;
          px.push([data[i], data[i + 1], data[i + 2]]);
        }
      return px;
    };
    for (const cell of L.cells) {
      const hist = region(cell.x, cell.histY, L.tileWidth, L.histHeight);
      const distinct = new Set(hist.map((p) => p.join(','))).size;
      expect(distinct, `${cell.group} ${cell.index} histogram`).toBeGreaterThan(2);
      // bars in the group colour: blue for synthetic, light grey for real
      const bars = hist.filter(([r, g, b]) => (cell.group === 'synthetic' ? b - r > 80 : r > 150 && Math.abs(r - b) < 30)).length;
      expect(bars, `${cell.group} ${cell.index} bars`).toBeGreaterThan(20);
      // the other group's mean in orange
      const orange = hist.filter(([r, g, b]) => r > 180 && g > 100 && b < 80 && r - g > 40).length;
      expect(orange, `${cell.group} ${cell.index} other-mean line`).toBeGreaterThan(5);
      // the image itself has content (inner part, away from the frame)
      const img = region(cell.x + 4, cell.imageY + 4, L.tileWidth - 8, L.tileHeight - 8).map((p) => p[0]);
      const mean = img.reduce((a, b) => a + b, 0) / img.length;
      const sd = Math.sqrt(img.reduce((a, b) => a + (b - mean) ** 2, 0) / img.length);
      expect(sd, `${cell.group} ${cell.index} image`).toBeGreaterThan(10);
      // and stays grey: the palette doesn't tint it with the histogram colours
      const rgb = region(cell.x + 4, cell.imageY + 4, L.tileWidth - 8, L.tileHeight - 8);
      const tinted = rgb.filter(([r, g, b]) => Math.max(r, g, b) - Math.min(r, g, b) > 8).length;
      expect(tinted / rgb.length, `${cell.group} ${cell.index} tint`).toBeLessThan(0.01);
    }
  });

  it('scales 16-bit PNGs to the full 8-bit range', async () => {
    const sheet = await renderContactSheet({ phantomsDir: phantoms, realDir: real, tile: 96, count: 4 });
    const h16 = sheet.tiles.find((t) => path.basename(t.file) === 'phantom-10.png')!.histogram;
    // a horizontal 16-bit ramp: spread over (nearly) all 64 bins, none dominant
    expect(h16.filter((v) => v > 0).length).toBeGreaterThan(56);
    expect(Math.max(...h16)).toBeLessThan(0.06);
    expect(sheet.tiles.map((t) => t.group)).toEqual(['synthetic', 'synthetic', 'synthetic', 'synthetic', 'real', 'real', 'real']);
    expect(sheet.meanOverlap).toBeGreaterThan(0);
    expect(sheet.meanOverlap).toBeLessThanOrEqual(1);
  });

  it('honours --count, spreading the picks over the sorted files', async () => {
    const sheet = await renderContactSheet({ phantomsDir: phantoms, realDir: real, tile: 96, count: 2 });
    expect(sheet.synthetic.map((f) => path.basename(f))).toEqual(['phantom-1.png', 'phantom-10.png']);
    expect(sheet.real).toHaveLength(2);
    expect(sheet.width).toBe(layoutContactSheet(2, 2, { tile: 96, perRow: 2 }).width);
  });

  it('can leave the real films out and keep their histograms', async () => {
    const shown = await renderContactSheet({ phantomsDir: phantoms, realDir: real, tile: 96 });
    const hidden = await renderContactSheet({ phantomsDir: phantoms, realDir: real, tile: 96, realPictures: false });
    expect(hidden.tiles.map((t) => t.histogram)).toEqual(shown.tiles.map((t) => t.histogram));
    const layout = layoutContactSheet(shown.synthetic.length, shown.real.length, { tile: 96, perRow: Math.min(6, Math.max(shown.synthetic.length, shown.real.length)) });
    const realCell = layout.cells.find((c) => c.group === 'real')!;
    const mean = async (png: Buffer) => {
      const { data, info } = await sharp(png).removeAlpha().greyscale().raw().toBuffer({ resolveWithObject: true });
      let sum = 0;
      for (let y = realCell.imageY; y < realCell.imageY + layout.tileHeight; y++) {
        for (let x = realCell.x; x < realCell.x + layout.tileWidth; x++) sum += data[y * info.width + x];
      }
      return sum / (layout.tileWidth * layout.tileHeight);
    };
    // the test's real films are bright discs and gradients; hidden, the tile is dark background and a note
    expect(await mean(hidden.png)).toBeLessThan(40);
    expect(await mean(shown.png)).toBeGreaterThan((await mean(hidden.png)) + 20);
  });

  it('is deterministic', async () => {
    const a = await renderContactSheet({ phantomsDir: phantoms, realDir: real, tile: 96 });
    const b = await renderContactSheet({ phantomsDir: phantoms, realDir: real, tile: 96 });
    expect(a.png.equals(b.png)).toBe(true);
  });

  it('names the folder that is missing or empty', async () => {
    const missing = path.join(dir, 'no-such-folder');
    await expect(renderContactSheet({ phantomsDir: missing, realDir: real })).rejects.toThrow(
      new RegExp(`--phantoms folder ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`),
    );
    await expect(renderContactSheet({ phantomsDir: phantoms, realDir: missing })).rejects.toThrow(/--real folder .*no-such-folder does not exist/);
    const empty = path.join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    await writeFile(path.join(empty, 'readme.txt'), 'x');
    await expect(renderContactSheet({ phantomsDir: empty, realDir: real })).rejects.toThrow(/--phantoms folder .*empty holds no PNG files/);
    await expect(renderContactSheet({ phantomsDir: phantoms, realDir: empty })).rejects.toThrow(/--real folder .*empty holds no PNG\/JPG\/JPEG files/);
    await expect(renderContactSheet({ phantomsDir: path.join(phantoms, 'phantom-1.png'), realDir: real })).rejects.toThrow(/is not a folder/);
  });

  it('names a file it cannot decode', async () => {
    const broken = path.join(dir, 'broken');
    await mkdir(broken, { recursive: true });
    await writeFile(path.join(broken, 'bad.png'), 'not really a png');
    await expect(renderContactSheet({ phantomsDir: broken, realDir: real })).rejects.toThrow(/cannot read image .*bad\.png/);
  });
});

describe('jointscore contact-sheet (CLI)', () => {
  function program(): Command {
    const p = new Command('jointscore').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerContactSheet(p);
    return p;
  }

  it('writes the sheet', async () => {
    const out = path.join(dir, 'cli', 'sheet.png');
    await program().parseAsync(['contact-sheet', '--phantoms', phantoms, '--real', real, '--out', out, '--count', '2', '--tile', '100'], {
      from: 'user',
    });
    const meta = await sharp(out).metadata();
    expect(meta.width).toBe(layoutContactSheet(2, 2, { tile: 100, perRow: 2 }).width);
  });

  it('rejects bad options and missing folders in the user\'s terms', async () => {
    await expect(
      program().parseAsync(['contact-sheet', '--phantoms', phantoms, '--real', real, '--out', 'x.png', '--tile', 'big'], { from: 'user' }),
    ).rejects.toThrow(/--tile must be a whole number/);
    await expect(
      program().parseAsync(['contact-sheet', '--phantoms', path.join(dir, 'nope'), '--real', real, '--out', path.join(dir, 'x.png')], { from: 'user' }),
    ).rejects.toThrow(/--phantoms folder .*nope does not exist/);
    await expect(
      program().parseAsync(['contact-sheet', '--phantoms', phantoms, '--real', real, '--out', path.join(dir, 'x.jpg')], { from: 'user' }),
    ).rejects.toThrow(/ending in \.png/);
  });
});
