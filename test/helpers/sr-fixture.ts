import type { HandAnalysis, JointResult } from '../../src/analysis/hand-analysis.js';
import { withSummary } from '../../src/analysis/severity.js';
import type { NaturalDataset } from '../../src/dicom/part10.js';
import type { SrOptions } from '../../src/reports/sr/index.js';
import { DX_FOR_PRESENTATION } from './dx.js';

export { DX_FOR_PRESENTATION };

/**
 * The SR test fixture: a HandAnalysis of two hands (joints with grades, probabilities and
 * boxes with decimals), the source DX image's attributes it was made from, and SR options.
 * Shared by test/sr.test.ts and test/orthanc.test.ts; clone before mutating.
 */

export const SOURCE_SOP = '1.2.826.0.1.3680043.10.1234.1.3.1';

export function joint(j: Partial<JointResult> & Pick<JointResult, 'site' | 'box'>): JointResult {
  const [x0, y0, x1, y1] = j.box;
  return { x: (x0 + x1) / 2, y: (y0 + y1) / 2, confidence: 0.97, severity: {}, ...j };
}

export const analysis: HandAnalysis = {
  source: { sopInstanceUID: SOURCE_SOP, rows: 2500, columns: 2048 },
  models: [{ name: 'joint-detector', version: '1.0.0', sha256: 'ab'.repeat(32) }],
  hands: [
    withSummary({
      laterality: 'L',
      joints: [
        joint({
          site: 'MCP2', box: [380.0, 330.0, 445.0, 392.0], confidence: 0.98,
          jsn: { grade: 2, probabilities: [0.02, 0.1, 0.7, 0.15, 0.03] },
          erosion: { grade: 0, probabilities: [0.9, 0.05, 0.03, 0.01, 0.005, 0.005] },
          kl: { grade: 1, probabilities: [0.3, 0.5, 0.1, 0.07, 0.03] },
          jswMm: 1.52,
          severity: { ra: 'mild', oa: 'healthy' },
        }),
        joint({
          site: 'PIP3', box: [412.3, 201.75, 470.1, 250.05], confidence: 0.9812345678901234,
          jsn: { grade: 3, probabilities: [0.01, 0.04, 0.15, 0.7000000000000001, 0.1] },
          erosion: { grade: 5, probabilities: [0, 0, 0, 0, 0, 1] },
          kl: { grade: 4, probabilities: [0.1, 0.2, 0.1, 0.2, 0.4] },
          jswMm: 0,
          severity: { ra: 'severe', oa: 'severe' },
        }),
        joint({
          site: 'DIP5', box: [1234.56, 88.8, 1290.01, 130.5], confidence: 0.5,
          kl: { grade: 2, probabilities: [0.05, 0.15, 0.6, 0.15, 0.05] },
          jswMm: 0.71,
          severity: { oa: 'mild' },
        }),
        joint({
          site: 'RC', box: [600, 1800, 900.5, 1950.25], confidence: 0.88,
          jsn: { grade: 0, probabilities: [0.8, 0.1, 0.05, 0.03, 0.02] },
          severity: { ra: 'healthy' },
        }),
      ],
    }),
    withSummary({
      laterality: 'R',
      joints: [
        joint({
          site: 'MCP2', box: [1600.25, 330.5, 1665.75, 392.125], confidence: 0.91,
          jsn: { grade: 1, probabilities: [0.2, 0.6, 0.1, 0.05, 0.05] },
          erosion: { grade: 1, probabilities: [0.3, 0.6, 0.05, 0.03, 0.01, 0.01] },
          kl: { grade: 0, probabilities: [0.7, 0.2, 0.05, 0.03, 0.02] },
          severity: { ra: 'mild', oa: 'healthy' },
        }),
        joint({
          site: 'CMC1', box: [1500, 1500, 1580.5, 1575.5], confidence: 0.77,
          erosion: { grade: 2, probabilities: [0.1, 0.2, 0.4, 0.2, 0.05, 0.05] },
          kl: { grade: 3, probabilities: [0.05, 0.05, 0.2, 0.6, 0.1] },
          severity: { oa: 'severe' },
        }),
        joint({
          site: 'IP1', box: [1450, 900, 1500, 950], confidence: 0.66,
          erosion: { grade: 0, probabilities: [] },
          kl: { grade: 0, probabilities: [] },
          severity: { oa: 'healthy' },
        }),
      ],
    }),
  ],
};

/** Patient, study and series identity of the fixtures' source radiograph (UTF-8 name). */
export const SOURCE_IDENTITY: NaturalDataset = {
  SpecificCharacterSet: 'ISO_IR 192',
  SOPClassUID: DX_FOR_PRESENTATION,
  SOPInstanceUID: SOURCE_SOP,
  StudyInstanceUID: '1.2.826.0.1.3680043.10.1234.1',
  SeriesInstanceUID: '1.2.826.0.1.3680043.10.1234.1.3',
  PatientName: [{ Alphabetic: '张伟' }],
  PatientID: 'PID-0042',
  PatientBirthDate: '19600102',
  PatientSex: 'M',
  PatientAge: '064Y',
  StudyDate: '20260301',
  StudyTime: '101500',
  ReferringPhysicianName: '',
  StudyID: 'S1',
  AccessionNumber: 'ACC-7',
  StudyDescription: '手部 X 光 hand radiograph',
  Modality: 'DX',
  SeriesNumber: 3,
  InstanceNumber: 1,
};

/** A minimal DX image's attributes (no pixels needed: the SR only references it). */
export const source: NaturalDataset = { ...SOURCE_IDENTITY, Rows: 2500, Columns: 2048 };

export const options: SrOptions = {
  seriesNumber: 9001,
  seriesDescription: 'jointscore SR (machine-generated, not for diagnosis alone)',
  manufacturer: 'jointscore project',
  deviceName: 'jointscore',
  algorithmName: 'jointscore-grader',
  algorithmVersion: '1.0.0',
  sopClass: 'comprehensive3d',
  contentDateTime: new Date(2026, 2, 1, 10, 30, 0, 250),
};
