import type { SelectionConfig } from '../config/types.js';
import type { NaturalDataset } from '../dicom/part10.js';
import { IMAGE_STORAGE } from '../dimse/negotiation.js';
import { DEFAULT_RESULT_OPTIONS } from './results.js';

/**
 * Is this object a hand radiograph the node should read? The rules run in a fixed order and
 * the first that refuses names itself, so `jointscore queue` can say exactly why an object
 * was skipped (and the administrator can see which setting to change).
 */
export type Selection = { analyse: true } | { analyse: false; rule: string; reason: string };

const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v).trim());
const within = (value: string, list: string[]) => list.some((x) => x.toUpperCase() === value.toUpperCase());

type Rule = (ds: NaturalDataset, c: SelectionConfig) => Selection | undefined;

const skip = (rule: string, reason: string): Selection => ({ analyse: false, rule, reason });

/** Our own SR, overlay and presentation state, sent back by a PACS that routes whole studies. */
const ownOutput: Rule = (ds) =>
  text(ds.Manufacturer) === DEFAULT_RESULT_OPTIONS.manufacturer && Number(ds.SeriesNumber) >= DEFAULT_RESULT_OPTIONS.seriesNumberBase
    ? skip('own-output', `made by this node (Manufacturer "${text(ds.Manufacturer)}", series ${ds.SeriesNumber}): never analysed`)
    : undefined;

const sopClass: Rule = (ds, c) => {
  const uid = text(ds.SOPClassUID);
  if (!(uid in IMAGE_STORAGE)) return skip('sop-class', `SOP Class ${uid} is not an image the node analyses`);
  if (c.sopClasses.length && !c.sopClasses.includes(uid)) return skip('sop-class', `SOP Class ${uid} is not in selection.sopClasses`);
  return undefined;
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

const seriesDescription: Rule = (ds, c) => {
  const desc = text(ds.SeriesDescription);
  const hit = c.seriesDescriptionExclude.find((re) => new RegExp(re, 'i').test(desc));
  return hit !== undefined ? skip('series-description', `Series Description (0008,103E) "${desc}" matches selection.seriesDescriptionExclude /${hit}/`) : undefined;
};

const laterality: Rule = (ds, c) => {
  if (!c.lateralities.length) return undefined;
  const lat = text(ds.ImageLaterality) || text(ds.Laterality) || 'U';
  return within(lat, c.lateralities)
    ? undefined
    : skip('laterality', `Image Laterality (0020,0062) "${lat}" is not in selection.lateralities [${c.lateralities.join(', ')}]`);
};

/** Age in whole years from Patient's Age (AS: 012Y, 030M, 010W, 100D), else from Patient's Birth Date and the study's date. */
export function patientAgeYears(ds: NaturalDataset): number | undefined {
  const as = /^(\d{3})([DWMY])$/.exec(text(ds.PatientAge).toUpperCase());
  if (as) return Number(as[1]) / { D: 365.25, W: 52.18, M: 12, Y: 1 }[as[2] as 'D' | 'W' | 'M' | 'Y'];
  const date = (v: unknown) => {
    const m = /^(\d{4})(\d{2})(\d{2})$/.exec(text(v));
    return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
  };
  const born = date(ds.PatientBirthDate);
  const seen = date(ds.StudyDate) ?? date(ds.ContentDate) ?? date(ds.AcquisitionDate);
  return born !== undefined && seen !== undefined && seen >= born ? (seen - born) / (365.25 * 86_400_000) : undefined;
}

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

export const RULES: readonly Rule[] = [ownOutput, sopClass, modality, bodyPart, seriesDescription, laterality, patientAge];

export function select(ds: NaturalDataset, c: SelectionConfig): Selection {
  for (const rule of RULES) {
    const s = rule(ds, c);
    if (s) return s;
  }
  return { analyse: true };
}
