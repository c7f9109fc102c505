import type { HandAnalysis, HandResult } from '../analysis/hand-analysis.js';
import { JOINT_SITES, type JointSite } from '../analysis/joints.js';
import { cells, jointGroupOf, stem, JOINT_GROUPS, type JointGroup } from './reference.js';

/**
 * Joint points a site's readers placed on its own films, and how near the models find each
 * joint: localisation as PCK@0.1, the share of labelled joints whose found joint of the same
 * site lies within a tenth of the film's labelled MCP2-MCP5 distance (the measure of
 * docs/evaluation.md "Real film: where the joints are"). Two forms are read:
 *
 * - labelme: one JSON per image (`shapes`: `{label, points: [[x, y]], shape_type: "point"}`),
 *   the film named by its `imagePath` (else the JSON's own name); labels are sites, with or
 *   without a side and case (`MCP2`, `L-MCP2`, `l_mcp2`). labelme shows an image turned by its
 *   EXIF orientation, as `analyze` reads it, so both share one frame.
 * - CSV: `file,site,x,y`, one row per joint, pixel coordinates (column, row) of the image as
 *   stored (a picture: as shown); or one row per image, its name first and `<site>_x`, `<site>_y`
 *   column pairs (`MCP2_x, MCP2_y, ...`).
 *
 * Shapes that are not points, and labels that name no site (a ruler, "note"), are counted and
 * left out.
 */
export interface PointFilm {
  film: string;
  laterality?: 'L' | 'R';
  points: Map<JointSite, { x: number; y: number }>;
}

export interface JointPoints {
  films: PointFilm[];
  /** labels that name no site, with how often they occur */
  ignored: Record<string, number>;
}

const THUMB_ALIASES: Record<string, JointSite> = { IP: 'IP1', MP: 'MCP1', MCP: 'MCP1', CMC: 'CMC1' };

/** `MCP2`, `L-MCP2`, `l_mcp2`, `R MCP 2` -> side and site (`IP`, `MP`: the thumb's); undefined for a label that names no site. */
export function siteOfLabel(label: string): { laterality?: 'L' | 'R'; site: JointSite } | undefined {
  const m = /^(?:([LR])[-_ ]+)?([A-Z]+)[-_ ]*(\d?)$/.exec(label.trim().toUpperCase());
  if (!m) return undefined;
  // the thumb's joints as many sets name them: IP and MP (metacarpophalangeal) without a digit
  const site = (THUMB_ALIASES[`${m[2]}${m[3]}`] ?? `${m[2]}${m[3]}`) as JointSite;
  if (!(JOINT_SITES as readonly string[]).includes(site)) return undefined;
  return { ...(m[1] ? { laterality: m[1] as 'L' | 'R' } : {}), site };
}

/** The points of a CSV text (`file,site,x,y`) or of labelme JSON texts, by the file each came from. */
export function readJointPoints(files: readonly { name: string; text: string }[]): JointPoints {
  const ignored: Record<string, number> = {};
  const byFilm = new Map<string, PointFilm>();
  const add = (film: string, label: string, x: unknown, y: unknown, where: string) => {
    const s = siteOfLabel(label);
    if (!s) {
      ignored[label] = (ignored[label] ?? 0) + 1;
      return;
    }
    if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) {
      throw new Error(`${where}: ${label}: the point is not two numbers (x, y): ${JSON.stringify([x, y])}`);
    }
    const f: PointFilm = byFilm.get(film) ?? { film, points: new Map() };
    if (s.laterality) {
      if (f.laterality && f.laterality !== s.laterality) throw new Error(`${where}: ${label}: film ${film} has joints of both sides; give each hand a film of its own`);
      f.laterality = s.laterality;
    }
    f.points.set(s.site, { x, y });
    byFilm.set(film, f);
  };
  for (const { name, text } of files) {
    if (/\.json$/i.test(name)) readLabelme(name, text, add);
    else readPointCsv(name, text, add);
  }
  return { films: [...byFilm.values()], ignored };
}

type AddPoint = (film: string, label: string, x: unknown, y: unknown, where: string) => void;

function readLabelme(name: string, text: string, add: AddPoint): void {
  let doc: { shapes?: { label?: unknown; points?: unknown; shape_type?: unknown }[]; imagePath?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${name}: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(doc?.shapes)) throw new Error(`${name}: no "shapes" list: expected a labelme file`);
  const film = stem(typeof doc.imagePath === 'string' && doc.imagePath ? doc.imagePath : name);
  for (const [i, shape] of doc.shapes.entries()) {
    if ((shape.shape_type ?? 'point') !== 'point' || !Array.isArray(shape.points) || shape.points.length !== 1) continue;
    const [x, y] = shape.points[0] as unknown[];
    add(film, String(shape.label ?? ''), x, y, `${name} shape ${i + 1}`);
  }
}

function readPointCsv(name: string, text: string, add: AddPoint): void {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = cells(lines[0] ?? '');
  const at = (k: string) => header.indexOf(k);
  const wide = header.filter((h) => /_x$/i.test(h)).map((h) => h.slice(0, -2)).filter((l) => header.some((h) => h.toLowerCase() === `${l.toLowerCase()}_y`));
  if (!['file', 'site', 'x', 'y'].every((k) => at(k) >= 0) && wide.length) return readWidePointCsv(name, header, lines.slice(1), wide, add);
  if (!['file', 'site', 'x', 'y'].every((k) => at(k) >= 0)) throw new Error(`${name}: expected the columns file,site,x,y (or an image column and <site>_x, <site>_y pairs); got ${header.join(',')}`);
  for (const [r, line] of lines.slice(1).entries()) {
    const row = cells(line);
    const num = (k: string) => (row[at(k)] === '' ? Number.NaN : Number(row[at(k)]));
    add(stem(row[at('file')]), row[at('site')], num('x'), num('y'), `${name} row ${r + 2}`);
  }
}

/** One row per image: its name first, then `<label>_x`, `<label>_y` per joint (an empty pair: not labelled). */
function readWidePointCsv(name: string, header: string[], rows: string[], labels: string[], add: AddPoint): void {
  const col = (h: string) => header.findIndex((x) => x.toLowerCase() === h.toLowerCase());
  for (const [r, line] of rows.entries()) {
    const row = cells(line);
    for (const label of labels) {
      const [x, y] = [row[col(`${label}_x`)], row[col(`${label}_y`)]];
      if ((x ?? '') === '' && (y ?? '') === '') continue;
      add(stem(row[0]), label, x === '' ? Number.NaN : Number(x), y === '' ? Number.NaN : Number(y), `${name} row ${r + 2}`);
    }
  }
}

export interface LocalisationAgreement {
  films: number;
  /** labelled joints on films with a prediction */
  joints: number;
  /** of them, on films whose MCP2 and MCP5 are labelled (the scale PCK needs) */
  scaled: number;
  /** found within a tenth of the labelled MCP2-MCP5 distance */
  withinTenth: number;
  /** withinTenth / scaled */
  pck: number | null;
  /** labelled joints (scaled) the models found no joint of the same site for */
  notFound: number;
  byGroup: { group: JointGroup; scaled: number; withinTenth: number; pck: number | null }[];
}

/** The predicted hand for a film: the one of its side, else the only one. */
function handFor(film: PointFilm, analysis: HandAnalysis | undefined): HandResult | undefined {
  const hands = analysis?.hands ?? [];
  return hands.find((h) => h.laterality === film.laterality) ?? (hands.length === 1 ? hands[0] : undefined);
}

export function localisationAgreement(films: readonly PointFilm[], predictions: ReadonlyMap<string, HandAnalysis>): LocalisationAgreement {
  const a = { films: 0, joints: 0, scaled: 0, withinTenth: 0, notFound: 0 };
  const groups = new Map<JointGroup, { scaled: number; withinTenth: number }>(JOINT_GROUPS.map((g) => [g, { scaled: 0, withinTenth: 0 }]));
  for (const film of films) {
    const analysis = predictions.get(film.film);
    if (!analysis) continue;
    a.films++;
    a.joints += film.points.size;
    const [m2, m5] = [film.points.get('MCP2'), film.points.get('MCP5')];
    if (!m2 || !m5) continue;
    const tenth = 0.1 * Math.hypot(m2.x - m5.x, m2.y - m5.y);
    const found = new Map((handFor(film, analysis)?.joints ?? []).map((j) => [j.site, j]));
    for (const [site, p] of film.points) {
      const g = groups.get(jointGroupOf(site))!;
      a.scaled++;
      g.scaled++;
      const j = found.get(site);
      if (!j) a.notFound++;
      else if (Math.hypot(j.x - p.x, j.y - p.y) <= tenth) {
        a.withinTenth++;
        g.withinTenth++;
      }
    }
  }
  const share = (n: number, of: number) => (of ? n / of : null);
  return {
    ...a,
    pck: share(a.withinTenth, a.scaled),
    byGroup: [...groups].filter(([, g]) => g.scaled > 0).map(([group, g]) => ({ group, ...g, pck: share(g.withinTenth, g.scaled) })),
  };
}
