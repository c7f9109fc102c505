import type { HandAnalysis, MarkerReading } from './hand-analysis.js';
import { HAND_NAMES, type Laterality } from './joints.js';

/**
 * Does the side the models found agree with the side the image is labelled with, in its
 * header and by the lead marker on the film? A mismatch is a safety matter (a report about
 * the wrong hand), and it has causes the node cannot tell apart: a mislabelled image or
 * marker, or a site whose films are oriented against the convention the models learnt (the
 * palm-down PA view with the patient's left on the image's right; some archives store the
 * mirror image). So it is reported, never corrected.
 */
export interface LateralityCheck {
  /** the side the header labels the film with (src/pipeline/declared.ts `labelledSide`): L, R, B, or empty where it gives none */
  labelled: string;
  /** the lateralities of the hands found, in order */
  found: string[];
  conflict: boolean;
  /** what disagrees with the side found: the header's label, the film's lead marker, or both */
  conflicts: ('header' | 'marker')[];
  message?: string;
  /** the film's lead marker held against the hand found (`markerCheck`), where both are one */
  marker?: MarkerCheck;
}

/** What the header says of the film's side (L, R, or B for both hands), and the attribute that says it. */
export interface LabelledSide {
  side: Laterality | 'B';
  says: string;
}

/**
 * The side found, held against the header's label and against the film's lead marker: a
 * conflict with either is reported (the message names both where both disagree).
 */
export function checkLaterality(analysis: HandAnalysis, labelled: LabelledSide | undefined): LateralityCheck {
  const byHeader = headerCheck(analysis, labelled);
  const marker = markerCheck(analysis);
  const markerConflict = marker !== undefined && !marker.agrees;
  const messages = [byHeader.message, markerConflict ? `laterality check: ${marker.text}` : undefined].filter(Boolean);
  const conflicts = [...(byHeader.conflict ? ['header' as const] : []), ...(markerConflict ? ['marker' as const] : [])];
  return { ...byHeader, conflict: conflicts.length > 0, conflicts, ...(messages.length ? { message: messages.join('; ') } : {}), ...(marker ? { marker } : {}) };
}

function headerCheck(analysis: HandAnalysis, labelled: LabelledSide | undefined): Omit<LateralityCheck, 'conflicts'> {
  const found = analysis.hands.map((h) => h.laterality);
  const sides = new Set(found);
  const side = labelled?.side;
  let conflict = false;
  if (found.length > 0 && (side === 'L' || side === 'R')) conflict = sides.size !== 1 || !sides.has(side);
  if (found.length > 0 && side === 'B') conflict = !(sides.has('L') && sides.has('R'));
  const message = conflict
    ? `laterality conflict: the image is labelled ${side} (${labelled!.says}) but the models found ${found.join(' and ')}; check the label and the film's orientation`
    : undefined;
  return { labelled: side ?? '', found, conflict, message };
}

/** The film's lead marker against the one hand found: whether they agree, and a sentence for the reader. */
export interface MarkerCheck {
  marker: MarkerReading;
  found: Laterality;
  agrees: boolean;
  text: string;
}

/**
 * The lead marker read on the film (src/inference/marker.ts) against the side of the hand found
 * by its thumb. Only where the film has one marker letter and hands of one side (graded, or found
 * and not graded, even unrecognised): a film of both hands carries a marker for each, or one for
 * the pair (on a Radiopaedia film of both hands, one of them amputated and unrecognised, the R
 * marks the pair). A mirrored letter is never agreement: the image is then likely shown flipped,
 * and the side found by the thumb is the patient's other hand.
 */
export function markerCheck(analysis: HandAnalysis): MarkerCheck | undefined {
  const markers = analysis.source.markers ?? [];
  // a hand not recognised still counts: the other hand of a pair, unrecognised, may be the one the marker marks
  // a finger film's side, where given, is the header's, not found by a thumb: nothing to check the marker against
  const sides = new Set([...analysis.hands, ...(analysis.notGraded ?? []).filter((n) => n.view !== 'finger')].map((h) => h.laterality));
  const [found] = [...sides];
  if (markers.length !== 1 || sides.size !== 1 || !found) return undefined;
  const [marker] = markers;
  const agrees = !marker.mirrored && marker.letter === found;
  const hand = HAND_NAMES[found].toLowerCase();
  const turned = marker.quarterTurns ? `, turned ${marker.quarterTurns * 90} degrees clockwise` : '';
  const other = HAND_NAMES[found === 'L' ? 'R' : 'L'].toLowerCase();
  const text = agrees
    ? `The film's lead marker reads ${marker.letter}${turned}, as the ${hand} found by its thumb's side.`
    : marker.mirrored
      ? `The film's lead marker ${marker.letter} reads mirrored${turned}: the image may be stored flipped left to right (then the ${hand} found by its thumb's side is the patient's ${other}), or the marker was laid reversed. Check the film's orientation; the side reported here follows the image as stored.`
      : `The film's lead marker reads ${marker.letter}${turned}, but the hand found is a ${hand} by its thumb's side: a marker laid for the other side, a view taken palm up (AP), or an image stored flipped. Check the side before reading.`;
  return { marker, found, agrees, text };
}
