import type { GradeResult, HandAnalysis, JointResult } from '../../src/analysis/hand-analysis.js';
import type { JointSite } from '../../src/analysis/joints.js';
import { jointSeverity, withSummary } from '../../src/analysis/severity.js';
import type { NaturalDataset } from '../../src/dicom/part10.js';
import { SOURCE_IDENTITY, SOURCE_SOP } from './sr-fixture.js';

/**
 * A left hand PA radiograph, 1024 columns x 1280 rows, with joints where a hand has them,
 * grades chosen to give every severity class, and a synthetic 8-bit image with finger
 * bones at those joints. Shared by the Secondary Capture and Presentation State tests.
 */

export const ROWS = 1280;
export const COLUMNS = 1024;
export { DX_FOR_PRESENTATION, SOURCE_SOP } from './sr-fixture.js';

const g = (grade: number, n: number): GradeResult => ({
  grade,
  probabilities: Array.from({ length: n }, (_, k) => (k === grade ? 1 : 0)),
});

/** [site, centre x, centre y, half width, half height, jsn, erosion, kl] (undefined: not graded) */
const JOINTS: [JointSite, number, number, number, number, number?, number?, number?][] = [
  ['DIP2', 322, 250, 30, 22, undefined, undefined, 1],
  ['DIP3', 452, 190, 30, 22, undefined, undefined, 3],
  ['DIP4', 578, 222, 30, 22, undefined, undefined, 2],
  ['DIP5', 690, 330, 28, 20, undefined, undefined, 0],
  ['PIP2', 340, 410, 34, 26, 1, 0, 1],
  ['PIP3', 455, 360, 34, 26, 3, 2, 4],
  ['PIP4', 568, 385, 34, 26, 0, 0, 0],
  ['PIP5', 668, 470, 30, 24, 0, 0, 2],
  ['MCP2', 365, 640, 38, 30, 2, 1, 1],
  ['MCP3', 460, 630, 38, 30, 4, 3, 1],
  ['MCP4', 555, 650, 36, 30, 0, 0, 0],
  ['MCP5', 640, 700, 34, 28, 1, 0, 0],
  ['IP1', 845, 560, 30, 24, undefined, 0, 0],
  ['MCP1', 790, 690, 34, 28, 0, 0, 1],
  ['CMC1', 705, 860, 36, 30, undefined, 1, 3],
  ['CMC3', 470, 860, 36, 28, 0],
  ['CMC4', 550, 870, 34, 28, 2],
  ['CMC5', 625, 890, 32, 28, 0],
  ['STT', 650, 960, 32, 26, 0, undefined, 0],
  ['CSL', 520, 985, 40, 28, 1],
  ['RC', 500, 1090, 90, 34, 3],
];

function joint(site: JointSite, x: number, y: number, hw: number, hh: number, jsn?: number, ero?: number, kl?: number): JointResult {
  const j: JointResult = {
    site,
    x,
    y,
    box: [x - hw, y - hh, x + hw, y + hh],
    confidence: 0.9,
    severity: {},
    ...(jsn !== undefined ? { jsn: g(jsn, 5) } : {}),
    ...(ero !== undefined ? { erosion: g(ero, 6) } : {}),
    ...(kl !== undefined ? { kl: g(kl, 5) } : {}),
  };
  j.severity = jointSeverity(j);
  return j;
}

export function fixtureAnalysis(): HandAnalysis {
  return {
    source: { sopInstanceUID: SOURCE_SOP, rows: ROWS, columns: COLUMNS, pixelSpacingMm: [0.15, 0.15] },
    models: [
      { name: 'jointscore-detector', version: '0.3.1', sha256: 'ab'.repeat(32) },
      { name: 'jointscore-grader', version: '1.0.0', sha256: 'cd'.repeat(32) },
    ],
    hands: [withSummary({ laterality: 'L', joints: JOINTS.map((a) => joint(...a)) })],
  };
}

/** One joint with no grades at all (shown in the "not graded" colour). */
export function withUngradedJoint(a: HandAnalysis): HandAnalysis {
  const b = structuredClone(a);
  b.hands[0].joints = b.hands[0].joints.filter((j) => j.site !== 'CMC5');
  b.hands[0].joints.push({ site: 'CMC5', x: 625, y: 890, box: [593, 862, 657, 918], confidence: 0.35, severity: {}, notGraded: { cause: 'uncertain', reason: 'the detector is unsure this is CMC5 (confidence 0.35 < 0.4)' } });
  return b;
}

export function fixtureSource(extra: NaturalDataset = {}): NaturalDataset {
  return {
    ...SOURCE_IDENTITY,
    PatientName: [{ Alphabetic: '张^伟' }],
    BodyPartExamined: 'HAND',
    Laterality: 'L',
    PatientOrientation: ['R', 'F'],
    Rows: ROWS,
    Columns: COLUMNS,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 16,
    BitsStored: 12,
    HighBit: 11,
    PixelRepresentation: 0,
    RescaleIntercept: 0,
    RescaleSlope: 1,
    RescaleType: 'US',
    WindowCenter: 2048,
    WindowWidth: 4096,
    ImagerPixelSpacing: [0.15, 0.15],
    ...extra,
  };
}

/**
 * A synthetic display image: dark background, a soft-tissue hand, bright bone segments
 * between consecutive joints of each ray, dark joint spaces. Deterministic.
 */
export function fixtureGray(analysis = fixtureAnalysis()): Uint8Array {
  const img = new Uint8Array(ROWS * COLUMNS);
  for (let y = 0; y < ROWS; y++) {
    for (let x = 0; x < COLUMNS; x++) img[y * COLUMNS + x] = 24 + ((x * 7 + y * 13) % 9); // film noise
  }
  const at = (site: JointSite) => analysis.hands[0].joints.find((j) => j.site === site);
  const capsule = (ax: number, ay: number, bx: number, by: number, r: number, v: number) => {
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - r));
    const x1 = Math.min(COLUMNS - 1, Math.ceil(Math.max(ax, bx) + r));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - r));
    const y1 = Math.min(ROWS - 1, Math.ceil(Math.max(ay, by) + r));
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy || 1;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const t = Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / len2));
        const ex = ax + t * dx - x;
        const ey = ay + t * dy - y;
        if (ex * ex + ey * ey <= r * r) img[y * COLUMNS + x] = Math.max(img[y * COLUMNS + x], v);
      }
    }
  };
  const rays: JointSite[][] = [
    ['DIP2', 'PIP2', 'MCP2', 'CMC3'], ['DIP3', 'PIP3', 'MCP3', 'CMC3'], ['DIP4', 'PIP4', 'MCP4', 'CMC4'],
    ['DIP5', 'PIP5', 'MCP5', 'CMC5'], ['IP1', 'MCP1', 'CMC1', 'STT'],
  ];
  // soft tissue
  for (const ray of rays) {
    const a = at(ray[0])!;
    const b = at(ray[ray.length - 1])!;
    capsule(a.x, a.y - 70, b.x, b.y, 48, 85);
  }
  capsule(500, 900, 520, 1280, 230, 85);
  // bones: segments between joints, leaving a gap at each joint
  for (const ray of rays) {
    const pts = ray.map((s) => at(s)!);
    capsule(pts[0].x, pts[0].y - 60, pts[0].x, pts[0].y - 10, 16, 190);
    for (let i = 0; i + 1 < pts.length; i++) {
      const a = pts[i];
      const b = pts[i + 1];
      const d = Math.hypot(b.x - a.x, b.y - a.y);
      const ux = (b.x - a.x) / d;
      const uy = (b.y - a.y) / d;
      capsule(a.x + ux * 10, a.y + uy * 10, b.x - ux * 10, b.y - uy * 10, 20, 210);
    }
  }
  for (const s of ['CSL', 'STT', 'CMC3', 'CMC4', 'CMC5'] as JointSite[]) {
    const j = at(s)!;
    capsule(j.x - 15, j.y + 20, j.x + 15, j.y + 20, 24, 180);
  }
  capsule(440, 1120, 440, 1280, 55, 200); // radius
  capsule(600, 1130, 600, 1280, 38, 195); // ulna
  return img;
}
