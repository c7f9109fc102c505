/**
 * The joint vocabulary of docs/design.md: one name per joint site, and which scores apply where.
 * Everything (JSON, SR tracking identifiers, logs, plots, the phantom's ground truth) uses
 * these names, prefixed by laterality where a hand is meant: `L-MCP2`.
 */
export const JOINT_SITES = [
  'DIP2', 'DIP3', 'DIP4', 'DIP5',
  'PIP2', 'PIP3', 'PIP4', 'PIP5',
  'IP1',
  'MCP1', 'MCP2', 'MCP3', 'MCP4', 'MCP5',
  'CMC1', 'CMC3', 'CMC4', 'CMC5',
  'STT', 'CSL', 'RC',
] as const;

export type JointSite = (typeof JOINT_SITES)[number];
export type Laterality = 'L' | 'R';

/** How reports name a hand. */
export const HAND_NAMES: Readonly<Record<Laterality, string>> = { L: 'Left hand', R: 'Right hand' };

/** Sites scored for SvH joint space narrowing (15 a hand). */
export const JSN_SITES: readonly JointSite[] = [
  'PIP2', 'PIP3', 'PIP4', 'PIP5', 'MCP1', 'MCP2', 'MCP3', 'MCP4', 'MCP5',
  'CMC3', 'CMC4', 'CMC5', 'STT', 'CSL', 'RC',
];
/**
 * The carpal sites whose crops show SvH's wrist erosion bones (docs/design.md): STT the
 * trapezium and trapezoid, CSL the scaphoid and lunate, RC the distal radius and ulna, each
 * graded as the worse of its bones.
 */
export const WRIST_BONE_SITES: readonly JointSite[] = ['STT', 'CSL', 'RC'];
/** The wrist's sites, the carpus and the CMC row: what a wrist-only film shows, where every ray starts. */
export const WRIST_SITES: readonly JointSite[] = ['RC', 'CSL', 'STT', 'CMC1', 'CMC3', 'CMC4', 'CMC5'];
/** Sites scored for SvH erosion (SvH scores it per bone, 16 areas a hand; 14 sites here). */
export const EROSION_SITES: readonly JointSite[] = [
  'PIP2', 'PIP3', 'PIP4', 'PIP5', 'IP1', 'MCP1', 'MCP2', 'MCP3', 'MCP4', 'MCP5', 'CMC1', ...WRIST_BONE_SITES,
];
/** Sites scored for hand-OA Kellgren-Lawrence (16 a hand). */
export const KL_SITES: readonly JointSite[] = [
  'DIP2', 'DIP3', 'DIP4', 'DIP5', 'PIP2', 'PIP3', 'PIP4', 'PIP5', 'IP1',
  'MCP1', 'MCP2', 'MCP3', 'MCP4', 'MCP5', 'CMC1', 'STT',
];

/**
 * Sites whose joint space width is measured (mm): the finger joints, where a joint space is
 * one band between two bone ends as trials measure it (MCP and PIP above all); the carpal and
 * CMC joints' spaces overlap in projection and have no single width.
 */
export const JSW_SITES: readonly JointSite[] = [
  'DIP2', 'DIP3', 'DIP4', 'DIP5', 'PIP2', 'PIP3', 'PIP4', 'PIP5', 'IP1',
  'MCP1', 'MCP2', 'MCP3', 'MCP4', 'MCP5',
];

export const MAX_GRADE = { jsn: 4, erosion: 5, kl: 4 } as const;
export type Score = keyof typeof MAX_GRADE;

export function scoresFor(site: JointSite): Score[] {
  const scores: Score[] = [];
  if (JSN_SITES.includes(site)) scores.push('jsn');
  if (EROSION_SITES.includes(site)) scores.push('erosion');
  if (KL_SITES.includes(site)) scores.push('kl');
  return scores;
}

export function trackingId(laterality: Laterality, site: JointSite): string {
  return `${laterality}-${site}`;
}
