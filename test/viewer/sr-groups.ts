import type { NaturalDataset } from '../../src/dicom/part10.js';

/**
 * Our SR as OHIF 3.13 reads it, on a written SR dataset (dcmjs naturalized): its Measurement
 * Groups and their regions, and the variant OHIF's "track measurements" needs.
 *
 * OHIF's SR extension turns every Measurement Group (125007) of Imaging Measurements into a
 * measurement, and then reads `measurement.coords[0].ReferencedSOPSequence` for each,
 * without a guard (extensions/cornerstone-dicom-sr/src/getSopClassHandlerModule.ts,
 * _checkIfCanAddMeasurementsToDisplaySet): a group without a SCOORD ends the SR's loading
 * before a single joint is drawn. That is why every group of ours, the hand summaries
 * too, has an Image Region (docs/viewer/README.md).
 */

/** A deep copy of plain objects and arrays (structuredClone refuses dcmjs's naturalized datasets). */
function clone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(clone) as T;
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  }
  return v;
}

const code = (item: NaturalDataset | undefined): string | undefined => item?.ConceptNameCodeSequence?.[0]?.CodeValue;
const children = (item: NaturalDataset): NaturalDataset[] => (Array.isArray(item.ContentSequence) ? item.ContentSequence : []);

/** The Measurement Groups of Imaging Measurements (126010), or [] where there is none. */
export function measurementGroups(sr: NaturalDataset): NaturalDataset[] {
  const imaging = children(sr).find((i) => code(i) === '126010');
  return imaging ? children(imaging).filter((i) => code(i) === '125007') : [];
}

/** A group's Tracking Identifier (112039) text. */
export function trackingIdentifier(group: NaturalDataset): string {
  return children(group).find((i) => code(i) === '112039')?.TextValue ?? '?';
}

/** The group's SCOORD, if it has one. */
export function regionOf(group: NaturalDataset): NaturalDataset | undefined {
  return children(group).find((i) => i.ValueType === 'SCOORD' || i.ValueType === 'SCOORD3D');
}

/** Tracking identifiers of the Measurement Groups that have no SCOORD (which OHIF 3.13 cannot load). */
export function groupsWithoutRegion(sr: NaturalDataset): string[] {
  return measurementGroups(sr).filter((g) => !regionOf(g)).map(trackingIdentifier);
}

/** A copy of the SR under new SOP Instance and Series UIDs, so that it can stand beside the original. */
export function withNewUids(sr: NaturalDataset, uids: { sopInstanceUid: string; seriesInstanceUid: string }): NaturalDataset {
  const copy: NaturalDataset = clone(sr);
  copy.SOPInstanceUID = uids.sopInstanceUid;
  copy.SeriesInstanceUID = uids.seriesInstanceUid;
  return copy;
}

/**
 * Second, optional step (for OHIF's "track measurements" hydration, not for drawing): the
 * first NUM of each group with a region gets a copy of that region as INFERRED FROM SCOORD
 * (TID 300's INFERRED FROM TID 320), which is where @cornerstonejs/adapters looks for the
 * geometry of a group that has NUMs (MeasurementReport.getSetupMeasurementData).
 */
export function withInferredFrom(sr: NaturalDataset): NaturalDataset {
  const copy: NaturalDataset = clone(sr);
  for (const group of measurementGroups(copy)) {
    const region = regionOf(group);
    const num = children(group).find((i) => i.ValueType === 'NUM');
    if (!region || !num) continue;
    const inferred = clone(region);
    inferred.RelationshipType = 'INFERRED FROM';
    delete inferred.ConceptNameCodeSequence;
    num.ContentSequence = [...children(num), inferred];
  }
  return copy;
}
