import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelInfo } from '../analysis/hand-analysis.js';
import {
  checkSignature,
  readManifest,
  verifyWeights,
  type DetectorManifest,
  type GraderManifest,
  type ModelManifest,
} from './manifest.js';
import { getSession, type ModelRunner, type SessionConfig } from './session.js';

/**
 * A model folder (model.onnx + manifest.json) turned into something to run: manifest read
 * and validated, weights' sha256 checked BEFORE a session is made, the session's inputs and
 * outputs checked against the manifest.
 */
export interface LoadedModel<M extends ModelManifest = ModelManifest> {
  manifest: M;
  manifestPath: string;
  modelPath: string;
  runner: ModelRunner;
  info: ModelInfo;
}

export interface Models {
  detector: LoadedModel<DetectorManifest>;
  grader: LoadedModel<GraderManifest>;
  /**
   * Optional second detector, trained on wrist-only and finger-only films: asked only where
   * the detector finds no hand, so whole hands keep the detector's own joints (src/inference/analyze.ts)
   */
  partialDetector?: LoadedModel<DetectorManifest>;
}

/** Every model loaded, in the order results name them: detector, partial-view detector, grader. */
export function modelList(m: Models): LoadedModel[] {
  return [m.detector, ...(m.partialDetector ? [m.partialDetector] : []), m.grader];
}

/** The folder names under a models root (`--models DIR`); the partial-view detector's is optional. */
export const MODEL_FOLDERS = { detector: 'jointscore-detector', grader: 'jointscore-grader', partialDetector: 'jointscore-partial' } as const;

export async function loadModel(dir: string, config: SessionConfig): Promise<LoadedModel> {
  const { manifest, manifestPath, modelPath } = await readManifest(dir);
  const bytes = await verifyWeights(manifest, manifestPath, modelPath);
  // keyed by path and content: weights replaced on disk (with their manifest) get a new session
  const runner = await getSession(`${modelPath}#sha256=${manifest.sha256}`, () => bytes, config);
  checkSignature(manifest, manifestPath, modelPath, runner);
  return { manifest, manifestPath, modelPath, runner, info: { name: manifest.name, version: manifest.version, sha256: manifest.sha256 } };
}

export async function loadDetector(dir: string, config: SessionConfig): Promise<LoadedModel<DetectorManifest>> {
  const m = await loadModel(dir, config);
  if (m.manifest.task !== 'detector') throw new Error(`${m.manifestPath}: task: found "${m.manifest.task}", expected "detector" (this folder is used as the detector)`);
  return m as LoadedModel<DetectorManifest>;
}

export async function loadGrader(dir: string, config: SessionConfig): Promise<LoadedModel<GraderManifest>> {
  const m = await loadModel(dir, config);
  if (m.manifest.task !== 'grader') throw new Error(`${m.manifestPath}: task: found "${m.manifest.task}", expected "grader" (this folder is used as the grader)`);
  return m as LoadedModel<GraderManifest>;
}

function foldersUnder(root: string): { detector: string; grader: string; partialDetector?: string } {
  const partialDetector = join(root, MODEL_FOLDERS.partialDetector);
  return {
    detector: join(root, MODEL_FOLDERS.detector),
    grader: join(root, MODEL_FOLDERS.grader),
    ...(existsSync(partialDetector) ? { partialDetector } : {}),
  };
}

/**
 * The models from `<root>/jointscore-detector`, `<root>/jointscore-grader` and, where that
 * folder exists, `<root>/jointscore-partial`; or from the folders given.
 */
export async function loadModels(
  where: string | { detector: string; grader: string; partialDetector?: string },
  config: SessionConfig,
): Promise<Models> {
  const dirs = typeof where === 'string' ? foldersUnder(where) : where;
  const detector = await loadDetector(dirs.detector, config);
  const grader = await loadGrader(dirs.grader, config);
  const partialDetector = dirs.partialDetector ? await loadDetector(dirs.partialDetector, config) : undefined;
  return { detector, grader, ...(partialDetector ? { partialDetector } : {}) };
}
