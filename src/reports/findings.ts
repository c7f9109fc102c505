import { sitesNotFound, type HandResult } from '../analysis/hand-analysis.js';
import { HAND_NAMES } from '../analysis/joints.js';
import { worstSeverity } from '../analysis/severity.js';
import { jointLabel } from './labels.js';

/**
 * One hand's result as the sentences a reader takes in first: what was found and graded, the
 * totals and the pattern, and every joint called mild or severe with its grades (labelled as
 * its box on the overlay is). Many archives show an SR as indented text, 21 joint groups of a
 * dozen lines each before anything else; the SR puts this first among its evaluations.
 */
export function handFindings(hand: HandResult): string {
  const name = `${HAND_NAMES[hand.laterality]}${hand.view?.kind === 'PA-partial' ? ' (partial view)' : ''}`;
  const found = hand.joints.length;
  const s = hand.summary;
  if ('notGraded' in s) return `${name}: ${found} joints found, none graded (${s.notGraded.join(', ')}).`;
  const graded = hand.joints.filter((j) => !j.notGraded).length;
  const missing = sitesNotFound(hand);
  const notFound = missing.length ? ` (not found: ${missing.join(', ')})` : '';
  const head = `${name}: ${found} joints found${notFound}, ${graded} graded. SvH JSN total ${s.svhJsn}, erosion total ${s.svhErosion}; KL sum ${s.klSum}; pattern ${s.pattern}.`;
  const called = hand.joints.filter((j) => !j.notGraded && worstSeverity(j) !== 'healthy' && worstSeverity(j) !== 'unknown');
  if (called.length === 0) return `${head} No joint mild or severe.`;
  return `${head} Mild or severe (${called.length}): ${called.map((j) => `${jointLabel(j)} (${worstSeverity(j)})`).join('; ')}.`;
}
