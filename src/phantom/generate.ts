import type { HandAnalysis } from '../analysis/hand-analysis.js';
import { previewPng } from '../imaging/preview.js';
import { VERSION } from '../version.js';
import { encodePhantomDx, type PhantomDxOptions } from './dicom-dx.js';
import { turnPhantom } from './orient.js';
import { asPartialView } from './partial.js';
import { renderPhantom } from './render.js';
import type { PhantomSpec, RenderedPhantom } from './types.js';

/**
 * One phantom from spec to the three artefacts a run writes: the DICOM object, a PNG
 * preview and the ground truth. No file I/O here: the CLI (or a test) decides where they go.
 */
export interface PhantomArtefacts {
  name: string;
  dicom: Buffer;
  preview?: Buffer;
  truth: HandAnalysis;
}

export const PHANTOM_GENERATOR = 'jointscore-phantom';

export function phantomName(seed: number): string {
  return `phantom-${String(seed).padStart(6, '0')}`;
}

export function groundTruth(rendered: RenderedPhantom, sopInstanceUID: string): HandAnalysis {
  const s = rendered.spec;
  return {
    source: {
      sopInstanceUID,
      rows: rendered.rows,
      columns: rendered.columns,
      pixelSpacingMm: [s.pixelSpacingMm, s.pixelSpacingMm],
    },
    models: [],
    hands: rendered.hands,
    groundTruth: { generator: PHANTOM_GENERATOR, version: VERSION, seed: s.seed, profile: s.profile },
  };
}

export async function makePhantom(
  spec: PhantomSpec,
  encoding: PhantomDxOptions,
  options: { preview?: boolean; previewMaxSide?: number; name?: string } = {},
): Promise<PhantomArtefacts> {
  const upright = asPartialView(renderPhantom(spec));
  const rendered = spec.turn ? turnPhantom(upright, spec.turn) : upright;
  return artefactsOf(rendered, encoding, options);
}

export async function artefactsOf(
  rendered: RenderedPhantom,
  encoding: PhantomDxOptions,
  options: { preview?: boolean; previewMaxSide?: number; name?: string } = {},
): Promise<PhantomArtefacts> {
  const dx = await encodePhantomDx(rendered, encoding);
  const preview =
    options.preview === false
      ? undefined
      : await previewPng(rendered.image, rendered.rows, rendered.columns, { maxSide: options.previewMaxSide ?? 1024 });
  return {
    name: options.name ?? phantomName(rendered.spec.seed),
    dicom: dx.bytes,
    preview,
    truth: groundTruth(rendered, dx.sopInstanceUID),
  };
}
