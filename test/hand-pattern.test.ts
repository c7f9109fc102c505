import { describe, expect, it } from 'vitest';
import type { JointResult } from '../src/analysis/hand-analysis.js';
import type { JointSite } from '../src/analysis/joints.js';
import { PATTERN, summarizeHand } from '../src/analysis/severity.js';
import { totalsOf } from './helpers/totals.js';

const grade = (g: number) => ({ grade: g, probabilities: [] as number[] });

/** A hand with every graded site healthy, then the given grades put on. */
function hand(changes: Partial<Record<JointSite, { jsn?: number; erosion?: number; kl?: number }>>): JointResult[] {
  const sites: JointSite[] = ['DIP2', 'DIP3', 'PIP2', 'PIP3', 'PIP4', 'MCP1', 'MCP2', 'MCP3', 'MCP4', 'CMC1', 'CMC3', 'STT', 'CSL', 'RC'];
  return sites.map((site) => {
    const c = changes[site] ?? {};
    return {
      site, x: 0, y: 0, box: [0, 0, 1, 1], confidence: 0.9,
      // a DIP carries no SvH score (a test may give it one: the pattern must still leave it out)
      ...(site.startsWith('DIP') || site === 'CMC1' ? {} : { jsn: grade(c.jsn ?? 0), erosion: grade(c.erosion ?? 0) }),
      ...(site.startsWith('DIP') && c.erosion !== undefined ? { erosion: grade(c.erosion) } : {}),
      ...(/^(DIP|PIP|MCP|CMC1|STT)/.test(site) ? { kl: grade(c.kl ?? 0) } : {}),
    } as JointResult;
  });
}

describe('the hand pattern (summarizeHand)', () => {
  it('says RA-like from three joints among MCP, PIP and wrist with JSN 2 or an erosion, not from two', () => {
    expect(PATTERN.raJoints).toBe(3);
    expect(totalsOf(summarizeHand(hand({ MCP2: { erosion: 1 }, RC: { jsn: 3 } }))).pattern).toBe('normal');
    expect(totalsOf(summarizeHand(hand({ MCP2: { erosion: 1 }, RC: { jsn: 3 }, PIP3: { jsn: 2 } }))).pattern).toBe('RA-like');
  });

  it('counts neither JSN 1 nor a DIP toward RA', () => {
    expect(totalsOf(summarizeHand(hand({ MCP2: { jsn: 1 }, MCP3: { jsn: 1 }, MCP4: { jsn: 1 }, PIP2: { erosion: 1 } }))).pattern).toBe('normal');
    expect(totalsOf(summarizeHand(hand({ DIP2: { erosion: 3 }, MCP2: { erosion: 2 }, PIP2: { erosion: 1 } }))).pattern).toBe('normal');
    expect(totalsOf(summarizeHand(hand({ MCP3: { erosion: 3 }, MCP2: { erosion: 2 }, PIP2: { erosion: 1 } }))).pattern).toBe('RA-like');
  });

  it('says OA-like from two joints with KL 2 or more, mixed with RA', () => {
    expect(totalsOf(summarizeHand(hand({ DIP2: { kl: 2 } }))).pattern).toBe('normal');
    expect(totalsOf(summarizeHand(hand({ DIP2: { kl: 2 }, DIP3: { kl: 3 } }))).pattern).toBe('OA-like');
    expect(totalsOf(summarizeHand(hand({ DIP2: { kl: 2 }, CMC1: { kl: 3 }, MCP2: { erosion: 1 }, MCP3: { jsn: 2 }, CSL: { jsn: 4 } }))).pattern).toBe('mixed');
  });

  it('says why instead of totals and a pattern where none of the joints is graded', () => {
    const notGraded = (cause: 'metal' | 'uncertain') => ({ cause, reason: cause });
    const joints = hand({}).map(({ jsn: _j, erosion: _e, kl: _k, ...j }, i) => ({ ...j, notGraded: notGraded(i % 3 ? 'uncertain' : 'metal') }));
    expect(summarizeHand(joints)).toEqual({ notGraded: ['metal', 'uncertain'] });
    // one joint graded: totals over it
    expect(summarizeHand([...joints.slice(1), hand({ MCP2: { jsn: 2 } })[6]])).toEqual({ svhJsn: 2, svhErosion: 0, klSum: 0, pattern: 'normal' });
  });

  it('keeps the totals whatever the pattern', () => {
    const s = summarizeHand(hand({ MCP2: { jsn: 2, erosion: 1 }, DIP2: { kl: 3 } }));
    expect(s).toEqual({ svhJsn: 2, svhErosion: 1, klSum: 3, pattern: 'normal' });
  });
});
