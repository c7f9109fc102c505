import type { HandSummary, HandTotals } from '../../src/analysis/hand-analysis.js';

/** A graded hand's totals; throws on a hand none of whose joints is graded (its summary says why instead). */
export function totalsOf(summary: HandSummary): HandTotals {
  if ('notGraded' in summary) throw new Error(`no totals: none of the hand's joints graded (${summary.notGraded.join(', ')})`);
  return summary;
}
