import type { SelectionConfig } from '../config/types.js';
import { valuesOf, type NaturalDataset } from '../dicom/part10.js';
import { IMAGE_STORAGE, STORAGE_CLASSES } from '../dimse/negotiation.js';
import { DEFAULT_RESULT_OPTIONS } from './results.js';
import { declaredCast, declaredOtherBodyPart, declaredView, labelledSide, patientAgeYears, text } from './declared.js';

/**
 * Is this object a hand radiograph the node should read? The rules run in a fixed order and
 * the first that refuses names itself, so `jointscore queue` can say exactly why an object
 * was skipped (and the administrator can see which setting to change).
 */
export type Selection = { analyse: true } | { analyse: false; rule: string; reason: string };

const within = (value: string, list: string[]) => list.some((x) => x.toUpperCase() === value.toUpperCase());

type Rule = (ds: NaturalDataset, c: SelectionConfig) => Selection | undefined;

const skip = (rule: string, reason: string): Selection => ({ analyse: false, rule, reason });

/**
 * Our own SR, overlay and presentation state, sent back by a PACS that routes whole studies:
 * known by the equipment they name, which no site setting changes (their series number does).
 */
const ownOutput = (ds: NaturalDataset): Selection | undefined =>
  text(ds.Manufacturer) === DEFAULT_RESULT_OPTIONS.manufacturer && text(ds.ManufacturerModelName) === DEFAULT_RESULT_OPTIONS.deviceName
    ? skip('own-output', `made by this node (Manufacturer and Manufacturer's Model Name "${text(ds.Manufacturer)}", series ${ds.SeriesNumber}): never analysed`)
    : undefined;

const sopClass: Rule = (ds, c) => {
  const uid = text(ds.SOPClassUID);
  if (!(uid in IMAGE_STORAGE)) return skip('sop-class', `SOP Class ${uid} is not an image the node analyses`);
  if (c.sopClasses.length && !c.sopClasses.includes(uid)) return skip('sop-class', `SOP Class ${uid} is not in selection.sopClasses`);
  return undefined;
};

const DX_FOR_PROCESSING = '1.2.840.10008.5.1.4.1.1.1.1.1';

/**
 * A raw detector image: the exposure before the modality's own processing (tone curve, edge
 * enhancement), which the models never learnt and no radiologist reads. A modality that sends
 * it sends the For Presentation image of the same exposure too, and that one is analysed: one
 * result per exposure, on the image the viewer shows.
 */
const forProcessing: Rule = (ds, c) => {
  if (!c.skipForProcessing) return undefined;
  const intent = text(ds.PresentationIntentType).toUpperCase();
  const says = text(ds.SOPClassUID) === DX_FOR_PROCESSING ? `SOP Class ${DX_FOR_PROCESSING} (Digital X-Ray Image Storage - For Processing)` : intent === 'FOR PROCESSING' ? 'Presentation Intent Type (0008,0068) "FOR PROCESSING"' : undefined;
  return says ? skip('for-processing', `${says}: raw detector data, before the modality's image processing; its For Presentation image is the one analysed (selection.skipForProcessing)`) : undefined;
};

/**
 * A copy made from another image: an AI vendor's overlay, a workstation's annotated or turned
 * copy of a film, a screen capture of it. It names its source in the Source Image Sequence, and
 * the source film is the one analysed; a copy's results would stand beside the film's as a second
 * set in the study. A processed film a modality marks DERIVED\PRIMARY is an original and read.
 */
const derivedCopy: Rule = (ds, c) => {
  if (!c.skipDerivedCopies) return undefined;
  const type = valuesOf(ds.ImageType).map((v) => String(v).trim().toUpperCase());
  const source = Array.isArray(ds.SourceImageSequence) ? (ds.SourceImageSequence[0] as NaturalDataset | undefined) : undefined;
  if (type[0] !== 'DERIVED' || type[1] !== 'SECONDARY' || !source) return undefined;
  const uid = text(source.ReferencedSOPInstanceUID);
  return skip(
    'derived-copy',
    `Image Type (0008,0008) "${type.join('\\')}" with a Source Image Sequence (0008,2112)${uid ? ` naming ${uid}` : ''}: a copy made from another image; its source is the one analysed (selection.skipDerivedCopies)`,
  );
};

const modality: Rule = (ds, c) => {
  const m = text(ds.Modality);
  return c.modalities.length && !within(m, c.modalities)
    ? skip('modality', `Modality (0008,0060) "${m}" is not in selection.modalities [${c.modalities.join(', ')}]`)
    : undefined;
};

const bodyPart: Rule = (ds, c) => {
  if (!c.bodyParts.length) return undefined;
  const part = text(ds.BodyPartExamined);
  if (!part) {
    return c.allowMissingBodyPart ? undefined : skip('body-part', 'Body Part Examined (0018,0015) is empty and selection.allowMissingBodyPart is false');
  }
  return within(part, c.bodyParts)
    ? undefined
    : skip('body-part', `Body Part Examined (0018,0015) "${part}" is not in selection.bodyParts [${c.bodyParts.join(', ')}]`);
};

/** Body Part Examined codes of a hand film (CID 4031): where the header says one, the descriptions are not asked. */
const HAND_PART_CODES = ['HAND', 'FINGER', 'WRIST', 'THUMB'];

/**
 * A film whose header names no hand part as Body Part Examined (empty, or a generic code a site
 * lets through such as EXTREMITY) and whose descriptions name another body part and no hand:
 * the feet of a rheumatology study routed with its hands, typed "FEET DP" with the body part
 * left empty. A description that also names a hand ("hands and feet", "finger/toe") says
 * nothing; the pixels judge every film again (a foot the detector takes for a hand is refused
 * by the thumb checks of src/inference/view.ts, not always). The descriptions stand in for the
 * body part the header left empty or generic: a site that reads every body part
 * (`selection.bodyParts: []`) reads these too.
 */
const bodyPartRule: Rule = (ds, c) => {
  if (!c.skipDeclaredBodyParts || !c.bodyParts.length || within(text(ds.BodyPartExamined), HAND_PART_CODES)) return undefined;
  const other = declaredOtherBodyPart(ds);
  return other
    ? skip('declared-body-part', `the word "${other.word}" in ${other.attribute} names a body part other than the hand, and no description names a hand (selection.skipDeclaredBodyParts)`)
    : undefined;
};

const seriesDescription: Rule = (ds, c) => {
  const desc = text(ds.SeriesDescription);
  const hit = c.seriesDescriptionExclude.find((re) => new RegExp(re, 'i').test(desc));
  return hit !== undefined ? skip('series-description', `Series Description (0008,103E) "${desc}" matches selection.seriesDescriptionExclude /${hit}/`) : undefined;
};

const laterality: Rule = (ds, c) => {
  if (!c.lateralities.length) return undefined;
  const labelled = labelledSide(ds);
  const lat = labelled?.side ?? 'U';
  const says = labelled?.says ?? 'no side in Image Laterality (0020,0062) or Laterality (0020,0060), taken as "U"';
  return within(lat, c.lateralities) ? undefined : skip('laterality', `${says} is not in selection.lateralities [${c.lateralities.join(', ')}]`);
};

/**
 * A film the modality itself labels lateral or oblique: the scores are defined on PA (and
 * AP) views. The pixels judge every film again (src/inference/view.ts), but a real oblique
 * with its fingers fanned can lie as a PA hand does; where the header says so, that is
 * decisive. `selection.skipDeclaredViews: []` leaves the view to the pixels alone.
 */
const declaredViewRule: Rule = (ds, c) => {
  const declared = declaredView(ds);
  return declared && declared.view !== 'frontal' && c.skipDeclaredViews.includes(declared.view)
    ? skip('declared-view', `${declared.says} ${declared.says.includes(' and ') ? 'declare' : 'declares'} ${declared.view === 'oblique' ? 'an' : 'a'} ${declared.view} view: the scores are defined on PA and AP hand views (selection.skipDeclaredViews [${c.skipDeclaredViews.join(', ')}])`)
    : undefined;
};

/**
 * A film the radiographer labels as taken through a cast: bone margins and joint spaces under
 * plaster or fibreglass are not what the grader learnt. The reason names the attribute and the
 * word, not the whole text.
 */
const castRule: Rule = (ds, c) => {
  const cast = c.skipDeclaredCasts ? declaredCast(ds) : undefined;
  return cast ? skip('declared-cast', `${cast.attribute} names a cast ("${cast.word}"): joints under a cast are not graded (selection.skipDeclaredCasts)`) : undefined;
};

/**
 * A site that wants no result at all for children skips them here (off by default: the
 * analysis reports a child's hands as not graded, analysis.minGradingAgeYears). Unknown age passes.
 */
const patientAge: Rule = (ds, c) => {
  if (!c.minPatientAgeYears) return undefined;
  const age = patientAgeYears(ds);
  return age !== undefined && age < c.minPatientAgeYears
    ? skip('patient-age', `patient aged ${Math.floor(age)} years (Patient's Age (0010,1010), or Birth Date and Study Date): under selection.minPatientAgeYears ${c.minPatientAgeYears}`)
    : undefined;
};

export const RULES: readonly Rule[] = [ownOutput, sopClass, forProcessing, derivedCopy, modality, bodyPart, bodyPartRule, seriesDescription, laterality, declaredViewRule, castRule, patientAge];

const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

/** The rules `neverAnalysed` names: objects that are no film of a patient's hand at all. */
export const NEVER_ANALYSED_RULES: ReadonlySet<string> = new Set(['own-output', 'no-pixel-data']);

/**
 * What no setting lets through: the node's own results, and an object without pixels (a
 * DICOMDIR, a structured report, a presentation state: what a folder exported from a PACS or
 * written by `analyze --out` holds beside its images). `jointscore analyze` applies these alone
 * where it does not apply the site's selection; the network never offers a DICOMDIR, and the
 * SCP's `sop-class` rule names the others.
 */
export function neverAnalysed(ds: NaturalDataset, fileMeta: NaturalDataset = {}): Selection {
  const own = ownOutput(ds);
  if (own) return own;
  if ('PixelData' in ds) return { analyse: true };
  const uid = text(ds.SOPClassUID) || text(fileMeta.MediaStorageSOPClassUID);
  const name = uid === MEDIA_STORAGE_DIRECTORY ? 'a DICOMDIR' : STORAGE_CLASSES[uid] ?? 'an object';
  return skip('no-pixel-data', `no Pixel Data (7FE0,0010) in ${name}${uid ? ` (SOP Class ${uid})` : ''}: not an image`);
}

export function select(ds: NaturalDataset, c: SelectionConfig): Selection {
  for (const rule of RULES) {
    const s = rule(ds, c);
    if (s) return s;
  }
  return { analyse: true };
}
