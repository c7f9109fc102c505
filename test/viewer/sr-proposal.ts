import type { NaturalDataset } from '../../src/dicom/part10.js';

/**
 * What OHIF 3.13 needs of our SR, applied to a written SR dataset (dcmjs naturalized), so
 * that the viewer test can show the proposed change working before it is made in
 * src/reports/sr (docs/viewer/README.md, "What our SR would need").
 *
 * OHIF's SR extension turns every Measurement Group (125007) of Imaging Measurements into a
 * measurement, and then reads `measurement.coords[0].ReferencedSOPSequence` for each,
 * without a guard (extensions/cornerstone-dicom-sr/src/getSopClassHandlerModule.ts,
 * _checkIfCanAddMeasurementsToDisplaySet). A group without a SCOORD (our TID 1501 hand
 * summaries, L-HAND / R-HAND) has no coords: the TypeError ends the SR's loading before a
 * single joint is drawn. The proposal: the hand summary becomes a TID 1410 group whose
 * Image Region (111030) is the box around that hand's joints, SELECTED FROM the source.
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

/**
 * A copy of the SR with each Measurement Group that lacks a SCOORD given one: the bounding
 * box of the regions of the groups with the same laterality prefix ("L-", "R-"), as a
 * closed POLYLINE Image Region (111030) SELECTED FROM the same image, placed after the
 * TID 4019 algorithm items, and the group's template changed from 1501 to 1410. New SOP
 * Instance and Series UIDs (given) so that it can stand beside the original.
 */
export function withHandRegions(sr: NaturalDataset, uids: { sopInstanceUid: string; seriesInstanceUid: string }): NaturalDataset {
  const copy: NaturalDataset = clone(sr);
  copy.SOPInstanceUID = uids.sopInstanceUid;
  copy.SeriesInstanceUID = uids.seriesInstanceUid;
  copy.SeriesDescription = `${sr.SeriesDescription ?? 'SR'} [hand summaries as TID 1410]`.slice(0, 64);
  const groups = measurementGroups(copy);
  for (const group of groups) {
    if (regionOf(group)) continue;
    const prefix = trackingIdentifier(group).split('-')[0] + '-';
    const boxes = groups
      .filter((g) => trackingIdentifier(g).startsWith(prefix))
      .map(regionOf)
      .filter((r): r is NaturalDataset => r !== undefined && r.ValueType === 'SCOORD');
    if (boxes.length === 0) throw new Error(`no joint regions with prefix ${prefix} to bound ${trackingIdentifier(group)}`);
    const xs = boxes.flatMap((b) => (b.GraphicData as number[]).filter((_, k) => k % 2 === 0));
    const ys = boxes.flatMap((b) => (b.GraphicData as number[]).filter((_, k) => k % 2 === 1));
    const [x0, y0, x1, y1] = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    const region: NaturalDataset = {
      RelationshipType: 'CONTAINS',
      ValueType: 'SCOORD',
      ConceptNameCodeSequence: [{ CodeValue: '111030', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Image Region' }],
      GraphicType: 'POLYLINE',
      GraphicData: [x0, y0, x1, y0, x1, y1, x0, y1, x0, y0],
      // the same SELECTED FROM IMAGE as the joints' regions
      ContentSequence: clone(children(boxes[0]).filter((c) => c.RelationshipType === 'SELECTED FROM')),
    };
    const items = children(group);
    const lastAlgorithmItem = items.map((i) => code(i)).lastIndexOf('111003'); // Algorithm Version
    const at = lastAlgorithmItem >= 0 ? lastAlgorithmItem + 1 : items.findIndex((i) => i.ValueType === 'NUM');
    items.splice(at < 0 ? items.length : at, 0, region);
    group.ContentTemplateSequence = [{ MappingResource: 'DCMR', TemplateIdentifier: '1410' }];
  }
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
