import type { HandAnalysis } from './hand-analysis.js';

/**
 * Does the side the models found agree with the side the image is labelled with? A
 * mismatch is a safety matter (a report about the wrong hand), and it has two usual
 * causes the node cannot tell apart: a mislabelled image, or a site whose films are
 * oriented against the convention the models learnt (the palm-down PA view with the
 * patient's left on the image's right; some archives store the mirror image). So it is
 * reported, never corrected.
 */
export interface LateralityCheck {
  /** Image Laterality (0020,0062), else Laterality (0020,0060): L, R, B, U or empty */
  labelled: string;
  /** the lateralities of the hands found, in order */
  found: string[];
  conflict: boolean;
  message?: string;
}

export function checkLaterality(analysis: HandAnalysis, imageLaterality: string): LateralityCheck {
  const labelled = imageLaterality.trim().toUpperCase();
  const found = analysis.hands.map((h) => h.laterality);
  const sides = new Set(found);
  let conflict = false;
  if (found.length > 0 && (labelled === 'L' || labelled === 'R')) conflict = sides.size !== 1 || !sides.has(labelled as 'L' | 'R');
  if (found.length > 0 && labelled === 'B') conflict = !(sides.has('L') && sides.has('R'));
  const message = conflict
    ? `laterality conflict: the image is labelled ${labelled} (Image Laterality (0020,0062) / Laterality (0020,0060)) but the models found ${found.join(' and ')}; check the label and the film's orientation`
    : undefined;
  return { labelled, found, conflict, message };
}
