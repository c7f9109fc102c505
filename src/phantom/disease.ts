import { JOINT_SITES, MAX_GRADE, scoresFor, WRIST_BONE_SITES, type JointSite, type Score } from '../analysis/joints.js';
import type { DiseaseProfile } from './types.js';
import type { Rng } from './rng.js';

/** True grades of one joint; only the scores that apply to the site (scoresFor) are set. */
export type JointGrades = Partial<Record<Score, number>>;
export type HandGrades = Record<JointSite, JointGrades>;

/**
 * Site weights: where each disease shows first. RA hits MCP, PIP and wrist; OA hits DIP,
 * PIP and the thumb base (CMC1/STT). A weight near 1 lets the site reach grade max.
 */
function raWeight(site: JointSite): number {
  if (/^MCP[2-5]$/.test(site) || /^(RC|CSL|STT|CMC[345])$/.test(site)) return 1.0;
  if (/^PIP/.test(site)) return 0.9;
  if (site === 'MCP1') return 0.75;
  if (site === 'IP1' || site === 'CMC1') return 0.6;
  return 0.15;
}

function oaWeight(site: JointSite): number {
  if (/^DIP/.test(site) || site === 'CMC1') return 1.0;
  if (/^PIP/.test(site) || site === 'IP1' || site === 'STT') return 0.85;
  if (/^MCP/.test(site)) return 0.35;
  return 0.1;
}

/**
 * Narrowing that a KL grade implies (KL 1 doubtful, 2 possible, 3 definite, 4 marked),
 * expressed as the lowest JSN grade consistent with it. Rule for sites scored by both
 * JSN and KL: JSN is the narrowing truth, and JSN >= KL_MIN_JSN[kl].
 */
export const KL_MIN_JSN = [0, 0, 0, 2, 3] as const;

/** A patient's disease: one latent severity per disease, shared by both hands (symmetry). */
export interface PatientDisease {
  ra: number;
  oa: number;
  /** per-site latent offsets shared by both hands, so RA stays roughly symmetric */
  siteBias: Record<JointSite, { ra: number; ero: number; oa: number }>;
}

export function samplePatientDisease(profile: DiseaseProfile, rng: Rng): PatientDisease {
  // Severity spread wide (up to >1) so that every grade of every scheme is well represented.
  const sev = () => Math.min(1.15, Math.pow(rng.next(), 0.85) * 1.15);
  const ra = profile === 'ra' ? sev() : profile === 'mixed' ? (rng.chance(0.75) ? sev() : 0) : 0;
  const oa = profile === 'oa' ? sev() : profile === 'mixed' ? (rng.chance(0.75) || ra === 0 ? sev() : 0) : 0;
  const siteBias = {} as PatientDisease['siteBias'];
  for (const s of JOINT_SITES) siteBias[s] = { ra: rng.normal(0, 0.22), ero: rng.normal(0, 0.25), oa: rng.normal(0, 0.22) };
  return { ra, oa, siteBias };
}

/**
 * The scores the phantom draws at a site: the node's (scoresFor) but erosion at the wrist
 * bones (STT, CSL, RC). Why: the phantom erodes joint margins, not carpal bones, so those
 * sites keep erosion 0 (their truth says so) and every phantom draws as it did before the
 * vocabulary graded them (same random stream: the shipped training and test sets stand).
 */
export function phantomScores(site: JointSite): Score[] {
  return scoresFor(site).filter((s) => s !== 'erosion' || !WRIST_BONE_SITES.includes(site));
}

/** continuous level -> grade 0..max, with level 1 reaching max */
function toGrade(level: number, max: number): number {
  return Math.max(0, Math.min(max, Math.floor(level * (max + 0.999))));
}

export function sampleHandGrades(profile: DiseaseProfile, p: PatientDisease, rng: Rng): HandGrades {
  const out = {} as HandGrades;
  for (const site of JOINT_SITES) {
    const g: JointGrades = {};
    const b = p.siteBias[site];
    const scores = phantomScores(site);
    if (profile === 'healthy') {
      for (const sc of scores) g[sc] = rng.chance(0.06) ? 1 : 0;
      out[site] = g;
      continue;
    }
    const raL = p.ra > 0 ? p.ra * raWeight(site) + b.ra + rng.normal(0, 0.08) : rng.normal(0, 0.06);
    const eroL = p.ra > 0 ? p.ra * raWeight(site) + b.ero + rng.normal(0, 0.1) - 0.05 : 0;
    const oaL = p.oa > 0 ? p.oa * oaWeight(site) + b.oa + rng.normal(0, 0.08) : rng.normal(0, 0.06);
    const kl = toGrade(oaL, MAX_GRADE.kl);
    if (scores.includes('kl')) g.kl = kl;
    if (scores.includes('jsn')) {
      const raJsn = toGrade(raL, MAX_GRADE.jsn);
      const oaJsn = scores.includes('kl') ? KL_MIN_JSN[kl] + (kl >= 2 && rng.chance(0.3) ? 1 : 0) : 0;
      g.jsn = Math.min(MAX_GRADE.jsn, Math.max(raJsn, oaJsn));
    }
    if (scores.includes('erosion')) g.erosion = toGrade(eroL, MAX_GRADE.erosion);
    out[site] = g;
  }
  return out;
}

/** How a joint's grades are drawn: everything the renderer needs, in mm and degrees. */
export interface JointLesions {
  /** joint space width as a fraction of normal */
  gapFactor: number;
  /** JSN 4: bony bridge instead of a space */
  ankylosis: boolean;
  /** lateral offset of the distal bone, as a fraction of the bone-end half-width (luxation, subluxation) */
  offset: number;
  /** angulation of the distal bone (deformity), degrees */
  angulationDeg: number;
  erosions: { radiusMm: number; side: -1 | 1; distal: boolean; axialMm: number }[];
  osteophytes: { sizeMm: number; side: -1 | 1; distal: boolean }[];
  /** subchondral sclerosis strength (0 none, 1 severe) */
  sclerosis: number;
  /** periarticular osteopenia strength (0 none, 1 marked) */
  osteopenia: number;
}

const JSN_GAP = [1, 0.78, 0.55, 0.28, 0];
/** KL-only sites (DIP, IP1, CMC1): narrowing from KL alone */
const KL_GAP = [1, 0.9, 0.8, 0.55, 0.28];

export function lesionsFor(site: JointSite, g: JointGrades, raActive: boolean, rng: Rng): JointLesions {
  const fingerJoint = /^(MCP|PIP|DIP|IP1)/.test(site);
  const l: JointLesions = {
    gapFactor: g.jsn !== undefined ? JSN_GAP[g.jsn] : g.kl !== undefined ? KL_GAP[g.kl] : 1,
    ankylosis: false, offset: 0, angulationDeg: 0, erosions: [], osteophytes: [], sclerosis: 0, osteopenia: 0,
  };
  if (g.jsn === 4) {
    // ankylosis or complete luxation; carpal joints fuse rather than luxate
    if (fingerJoint && rng.chance(0.4)) {
      l.gapFactor = 0.45;
      l.offset = rng.pick([-1, 1]) * rng.uniform(0.75, 1.0);
    } else l.ankylosis = true;
  }
  const ero = g.erosion ?? 0;
  const eroR = [0, 0.9, 1.3, 1.8, 2.4, 3.1][ero];
  const nEro = [0, 1, 2, 3, 4, 6][ero];
  for (let i = 0; i < nEro; i++) {
    l.erosions.push({
      radiusMm: eroR * rng.uniform(0.85, 1.15),
      side: rng.pick([-1, 1] as const),
      distal: i % 3 === 1,
      axialMm: rng.uniform(1.2, 3.2) + (ero >= 4 ? rng.uniform(0, 3) : 0),
    });
  }
  const kl = g.kl ?? 0;
  const nOst = kl === 1 ? (rng.chance(0.5) ? 1 : 0) : kl === 2 ? rng.int(1, 2) : kl === 3 ? rng.int(2, 3) : kl === 4 ? rng.int(3, 4) : 0;
  const ostSize = [0, 0.6, 1.3, 2.0, 2.9][kl];
  for (let i = 0; i < nOst; i++) {
    l.osteophytes.push({ sizeMm: ostSize * rng.uniform(0.85, 1.2), side: i % 2 === 0 ? -1 : 1, distal: i >= 2 ? rng.chance(0.5) : i === 1 });
  }
  l.sclerosis = [0, 0, 0.3, 0.65, 1][kl];
  if (kl >= 3 && fingerJoint && rng.chance(kl === 4 ? 0.9 : 0.5)) {
    l.angulationDeg = rng.pick([-1, 1]) * (kl === 4 ? rng.uniform(10, 22) : rng.uniform(5, 11));
    if (kl === 4 && l.offset === 0 && rng.chance(0.5)) l.offset = rng.pick([-1, 1]) * rng.uniform(0.2, 0.35);
  }
  const raDamage = (g.jsn ?? 0) + ero;
  l.osteopenia = raActive && raDamage > 0 ? Math.min(1, 0.35 + 0.15 * raDamage) : 0;
  return l;
}
