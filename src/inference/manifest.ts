import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { JOINT_SITES, type JointSite, type Laterality } from '../analysis/joints.js';
import { JointscoreError } from '../errors.js';

/**
 * manifest.json beside each model.onnx (docs/model-contract.md): read, validated by hand,
 * the weights' sha256 checked before any session is made, and the loaded model's inputs
 * and outputs checked against it. Every error names the file, the field, what was found
 * and what was expected.
 */

/** -1 = a dynamic axis (the batch). */
export type Shape = number[];

export interface TensorSpec {
  name: string;
  shape: Shape;
}

interface ManifestCommon {
  name: string;
  version: string;
  file: string;
  sha256: string;
  training?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

export interface DetectorManifest extends ManifestCommon {
  task: 'detector';
  input: TensorSpec & { size: number };
  output:
    | (TensorSpec & { layout: 'heatmap'; stride: number; threshold: number })
    | (TensorSpec & { layout: 'yolo'; threshold: number });
  /** `L-MCP2` form: heatmap channels or YOLO classes, in output order */
  channels: string[];
  /** what this detector's confidences mean, measured on real films; absent: DEFAULT_CALIBRATION */
  calibration?: DetectorCalibration;
}

/**
 * Bounds on a detector's own confidence scale (src/inference/view.ts, abstention.ts): a hand
 * is recognised with at least `handMinJoints` joints at a mean confidence of
 * `handMinMeanConfidence`; a joint below `jointMinConfidence` is not graded. A site that
 * brings its own detector measures its own.
 */
export interface DetectorCalibration {
  handMinJoints: number;
  handMinMeanConfidence: number;
  jointMinConfidence: number;
  /** mean confidence a partial PA view's joints need (default PARTIAL_VIEW.minMeanConfidence, src/inference/view.ts) */
  partialMinMeanConfidence?: number;
}

/** The shipped detector's bounds (measured for jointscore-detector 0.2.0: its manifest says how). */
export const DEFAULT_CALIBRATION: DetectorCalibration = { handMinJoints: 14, handMinMeanConfidence: 0.55, jointMinConfidence: 0.4 };

export const GRADER_OUTPUTS = ['jsn', 'erosion', 'kl', 'geometry'] as const;
export type GraderOutput = (typeof GRADER_OUTPUTS)[number];
/** Width of each grader output (classes, or 4 for geometry). */
export const GRADER_OUTPUT_WIDTH: Record<GraderOutput, number> = { jsn: 5, erosion: 6, kl: 5, geometry: 4 };
export const META_WIDTH = JOINT_SITES.length + 2;
/**
 * An output a grader may have: `jsw` [N, 1], the joint space width in mm, read at the
 * finger joints (analysis/joints.ts JSW_SITES). Optional, so a site's own grader without it
 * still loads; its joints then carry no width.
 */
export const GRADER_OPTIONAL_OUTPUTS = ['jsw'] as const;
export type GraderOptionalOutput = (typeof GRADER_OPTIONAL_OUTPUTS)[number];
export const GRADER_OPTIONAL_OUTPUT_WIDTH: Record<GraderOptionalOutput, number> = { jsw: 1 };

export interface GraderManifest extends ManifestCommon {
  task: 'grader';
  input: { crop: TensorSpec; meta: TensorSpec; cropPx: number; cropMmPerPx: number };
  outputs: Record<GraderOutput, TensorSpec> & Partial<Record<GraderOptionalOutput, TensorSpec>>;
  sites: JointSite[];
  gradeSchemes?: Record<string, string>;
}

export type ModelManifest = DetectorManifest | GraderManifest;

export class ManifestError extends JointscoreError {
  readonly kind = 'model' as const;
  constructor(
    readonly file: string,
    readonly field: string,
    readonly found: string,
    readonly expected: string,
  ) {
    super(`${file}: ${field}: found ${found}, expected ${expected}`);
    this.name = 'ManifestError';
  }
}

export class ModelIntegrityError extends JointscoreError {
  readonly kind = 'model' as const;
  constructor(message: string, readonly file: string) {
    super(message);
    this.name = 'ModelIntegrityError';
  }
}

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing (field missing)';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** A small checker bound to one file: each method returns the value or throws a ManifestError. */
class Checker {
  constructor(readonly file: string) {}

  fail(field: string, found: unknown, expected: string): never {
    throw new ManifestError(this.file, field, show(found), expected);
  }

  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, v, 'an object');
    return v as Record<string, unknown>;
  }

  string(o: Record<string, unknown>, key: string, field: string): string {
    const v = o[key];
    if (typeof v !== 'string' || v.length === 0) this.fail(field, v, 'a non-empty string');
    return v;
  }

  number(o: Record<string, unknown>, key: string, field: string, test: (n: number) => boolean, expected: string): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || !test(v)) this.fail(field, v, expected);
    return v;
  }

  oneOf<T extends string>(o: Record<string, unknown>, key: string, field: string, allowed: readonly T[]): T {
    const v = o[key];
    if (typeof v !== 'string' || !allowed.includes(v as T)) this.fail(field, v, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
    return v as T;
  }

  shape(v: unknown, field: string, rank: number): Shape {
    if (!Array.isArray(v) || v.length !== rank || !v.every((d) => Number.isInteger(d) && (d === -1 || d > 0))) {
      this.fail(field, v, `an array of ${rank} integers (positive, or -1 for a dynamic axis)`);
    }
    return v as Shape;
  }

  tensor(o: Record<string, unknown>, key: string, field: string, rank: number): TensorSpec {
    const t = this.object(o[key], field);
    return { name: this.string(t, 'name', `${field}.name`), shape: this.shape(t.shape, `${field}.shape`, rank) };
  }

  optionalObject(o: Record<string, unknown>, key: string, field: string): Record<string, unknown> | undefined {
    return o[key] === undefined ? undefined : this.object(o[key], field);
  }
}

const SITE_SET = new Set<string>(JOINT_SITES);

/** Parses a `L-MCP2` channel name. */
export function parseChannel(name: string): { laterality: Laterality; site: JointSite } | undefined {
  const m = /^([LR])-(.+)$/.exec(name);
  if (!m || !SITE_SET.has(m[2])) return undefined;
  return { laterality: m[1] as Laterality, site: m[2] as JointSite };
}

/** Validates a parsed manifest.json; `file` is used in every message. */
export function parseManifest(json: unknown, file: string): ModelManifest {
  const c = new Checker(file);
  const m = c.object(json, '(top level)');
  const common = {
    name: c.string(m, 'name', 'name'),
    version: c.string(m, 'version', 'version'),
    file: c.string(m, 'file', 'file'),
    sha256: ((): string => {
      const v = m.sha256;
      if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v)) c.fail('sha256', v, '64 hexadecimal digits (sha256 of the model file)');
      return (v as string).toLowerCase();
    })(),
    training: c.optionalObject(m, 'training', 'training'),
    metrics: c.optionalObject(m, 'metrics', 'metrics'),
  };
  const task = c.oneOf(m, 'task', 'task', ['detector', 'grader'] as const);
  return task === 'detector' ? parseDetector(c, m, common) : parseGrader(c, m, common);
}

function parseDetector(c: Checker, m: Record<string, unknown>, common: ManifestCommon): DetectorManifest {
  const inObj = c.object(m.input, 'input');
  const input = {
    ...c.tensor(m, 'input', 'input', 4),
    size: c.number(inObj, 'size', 'input.size', (n) => Number.isInteger(n) && n > 0, 'a positive integer (the square input side S)'),
  };
  const [n, ch, h, w] = input.shape;
  if (n !== 1 || ch !== 1 || h !== input.size || w !== input.size) {
    c.fail('input.shape', input.shape, `[1, 1, ${input.size}, ${input.size}] (input.size = ${input.size})`);
  }
  const outObj = c.object(m.output, 'output');
  const layout = c.oneOf(outObj, 'layout', 'output.layout', ['heatmap', 'yolo'] as const);
  const threshold = c.number(outObj, 'threshold', 'output.threshold', (t) => t >= 0 && t <= 1, 'a number from 0 to 1');
  const channelsRaw = m.channels;
  if (!Array.isArray(channelsRaw) || channelsRaw.length === 0) c.fail('channels', channelsRaw, 'a non-empty array of joint names such as "L-MCP2"');
  const channels = (channelsRaw as unknown[]).map((v, i) => {
    if (typeof v !== 'string' || !parseChannel(v)) c.fail(`channels[${i}]`, v, `a laterality and a site of the vocabulary, e.g. "L-MCP2" (sites: ${JOINT_SITES.join(', ')})`);
    return v;
  });
  const seen = new Set<string>();
  channels.forEach((ch, i) => {
    if (seen.has(ch)) c.fail(`channels[${i}]`, ch, 'each joint once (it is already named earlier in channels)');
    seen.add(ch);
  });
  const calibration = parseCalibration(c, m);
  if (layout === 'heatmap') {
    const t = c.tensor(m, 'output', 'output', 4);
    const stride = c.number(outObj, 'stride', 'output.stride', (s) => Number.isInteger(s) && s > 0, 'a positive integer');
    const g = input.size / stride;
    const [on, oc, oh, ow] = t.shape;
    if (on !== 1 || oc !== channels.length || oh !== g || ow !== g) {
      c.fail('output.shape', t.shape, `[1, ${channels.length}, ${g}, ${g}] (channels.length, input.size / output.stride)`);
    }
    return { ...common, task: 'detector', input, output: { ...t, layout, stride, threshold }, channels, ...calibration };
  }
  const t = c.tensor(m, 'output', 'output', 3);
  const [yn, yc, yN] = t.shape;
  if (yn !== 1 || yc !== 4 + channels.length || yN === 0) {
    c.fail('output.shape', t.shape, `[1, ${4 + channels.length}, N] (4 box values + channels.length class scores)`);
  }
  return { ...common, task: 'detector', input, output: { ...t, layout, threshold }, channels, ...calibration };
}

function parseCalibration(c: Checker, m: Record<string, unknown>): { calibration?: DetectorCalibration } {
  const o = c.optionalObject(m, 'calibration', 'calibration');
  if (!o) return {};
  const unit = (t: number) => t >= 0 && t <= 1;
  return {
    calibration: {
      handMinJoints: c.number(o, 'handMinJoints', 'calibration.handMinJoints', (n) => Number.isInteger(n) && n >= 1, 'a positive integer (joints of one hand)'),
      handMinMeanConfidence: c.number(o, 'handMinMeanConfidence', 'calibration.handMinMeanConfidence', unit, 'a number from 0 to 1'),
      jointMinConfidence: c.number(o, 'jointMinConfidence', 'calibration.jointMinConfidence', unit, 'a number from 0 to 1'),
      ...(o.partialMinMeanConfidence === undefined
        ? {}
        : { partialMinMeanConfidence: c.number(o, 'partialMinMeanConfidence', 'calibration.partialMinMeanConfidence', unit, 'a number from 0 to 1') }),
    },
  };
}

function parseGrader(c: Checker, m: Record<string, unknown>, common: ManifestCommon): GraderManifest {
  const inObj = c.object(m.input, 'input');
  const cropPx = c.number(inObj, 'cropPx', 'input.cropPx', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
  const cropMmPerPx = c.number(inObj, 'cropMmPerPx', 'input.cropMmPerPx', (n) => n > 0, 'a positive number (mm per crop pixel)');
  const crop = c.tensor(inObj, 'crop', 'input.crop', 4);
  if (crop.shape[0] !== -1 || crop.shape[1] !== 1 || crop.shape[2] !== cropPx || crop.shape[3] !== cropPx) {
    c.fail('input.crop.shape', crop.shape, `[-1, 1, ${cropPx}, ${cropPx}] (input.cropPx = ${cropPx}, batch dynamic)`);
  }
  const meta = c.tensor(inObj, 'meta', 'input.meta', 2);
  if (meta.shape[0] !== -1 || meta.shape[1] !== META_WIDTH) c.fail('input.meta.shape', meta.shape, `[-1, ${META_WIDTH}]`);
  const outObj = c.object(m.outputs, 'outputs');
  const outputs = {} as GraderManifest['outputs'];
  const width = { ...GRADER_OUTPUT_WIDTH, ...GRADER_OPTIONAL_OUTPUT_WIDTH };
  const present = GRADER_OPTIONAL_OUTPUTS.filter((k) => (outObj as Record<string, unknown>)[k] !== undefined);
  for (const k of [...GRADER_OUTPUTS, ...present]) {
    const t = c.tensor(outObj, k, `outputs.${k}`, 2);
    if (t.shape[0] !== -1 || t.shape[1] !== width[k]) c.fail(`outputs.${k}.shape`, t.shape, `[-1, ${width[k]}]`);
    outputs[k] = t;
  }
  const sites = m.sites;
  if (!Array.isArray(sites) || sites.length !== JOINT_SITES.length || sites.some((s, i) => s !== JOINT_SITES[i])) {
    c.fail('sites', sites, `the ${JOINT_SITES.length} sites of the vocabulary in order (${JOINT_SITES.join(', ')}): the meta one-hot uses this order`);
  }
  const gs = c.optionalObject(m, 'gradeSchemes', 'gradeSchemes') as Record<string, string> | undefined;
  return { ...common, task: 'grader', input: { crop, meta, cropPx, cropMmPerPx }, outputs, sites: sites as JointSite[], gradeSchemes: gs };
}

/** Reads and validates `<dir>/manifest.json` (or the manifest file given). */
export async function readManifest(pathOrDir: string): Promise<{ manifest: ModelManifest; manifestPath: string; modelPath: string }> {
  const manifestPath = pathOrDir.endsWith('.json') ? pathOrDir : join(pathOrDir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelIntegrityError(
      code === 'ENOENT'
        ? `${manifestPath}: no manifest here; a model folder holds model.onnx and manifest.json (docs/model-contract.md)`
        : `${manifestPath}: cannot read the manifest (${(err as Error).message})`,
      manifestPath,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(manifestPath, '(whole file)', `text that is not JSON (${(err as Error).message})`, 'a JSON object');
  }
  const manifest = parseManifest(json, manifestPath);
  return { manifest, manifestPath, modelPath: join(dirname(manifestPath), manifest.file) };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads the weights and checks their sha256 against the manifest; returns the bytes (for the session). */
export async function verifyWeights(manifest: ModelManifest, manifestPath: string, modelPath: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(modelPath);
  } catch (err) {
    throw new ModelIntegrityError(`${modelPath}: cannot read the model named by ${manifestPath} field "file" (${(err as Error).message})`, modelPath);
  }
  const actual = sha256Hex(bytes);
  if (actual !== manifest.sha256) {
    throw new ModelIntegrityError(
      `${modelPath}: sha256 mismatch: the file's sha256 is ${actual}, ${manifestPath} field "sha256" says ${manifest.sha256}; ` +
        'the weights are corrupt or not the ones the manifest describes (re-copy the model folder, or fix the manifest)',
      modelPath,
    );
  }
  return bytes;
}

/** What a loaded session says about one input or output: dims are numbers or symbolic names. */
export interface IoMetadata {
  name: string;
  /** undefined when the model does not say */
  shape?: readonly (number | string)[];
  type?: string;
}

/** The inputs and outputs the manifest promises, by name. */
export function manifestSignature(m: ModelManifest): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  if (m.task === 'detector') return { inputs: [m.input], outputs: [m.output] };
  return { inputs: [m.input.crop, m.input.meta], outputs: graderOutputNames(m).map((k) => m.outputs[k]!) };
}

/** The outputs this grader's manifest declares: the four required, then the optional ones it has. */
export function graderOutputNames(m: GraderManifest): (GraderOutput | GraderOptionalOutput)[] {
  return [...GRADER_OUTPUTS, ...GRADER_OPTIONAL_OUTPUTS.filter((k) => m.outputs[k])];
}

/**
 * Checks a loaded model's input/output names, element types and static dims against the
 * manifest. A manifest -1 must be a dynamic axis in the model; a manifest size must be that
 * size in the model (a dynamic model axis is accepted where the manifest fixes a size).
 */
export function checkSignature(
  m: ModelManifest,
  manifestPath: string,
  modelPath: string,
  actual: { inputs: IoMetadata[]; outputs: IoMetadata[] },
): void {
  const expected = manifestSignature(m);
  for (const kind of ['inputs', 'outputs'] as const) {
    const have = new Map(actual[kind].map((io) => [io.name, io]));
    const fieldOf = (spec: TensorSpec) => fieldName(m, kind, spec.name);
    for (const spec of expected[kind]) {
      const io = have.get(spec.name);
      if (!io) {
        throw new ManifestError(
          manifestPath,
          `${fieldOf(spec)}.name`,
          `"${spec.name}", which ${modelPath} does not have (its ${kind}: ${[...have.keys()].map((n) => `"${n}"`).join(', ') || 'none'})`,
          `the name of one of the model's ${kind}`,
        );
      }
      if (io.type !== undefined && io.type !== 'float32') {
        throw new ManifestError(manifestPath, fieldOf(spec), `${modelPath} ${kind.slice(0, -1)} "${spec.name}" of type ${io.type}`, 'float32');
      }
      if (!io.shape) continue;
      const dims = io.shape;
      const ok =
        dims.length === spec.shape.length &&
        spec.shape.every((d, i) => (d === -1 ? typeof dims[i] !== 'number' || dims[i] === -1 : typeof dims[i] !== 'number' || dims[i] === d || dims[i] === -1));
      if (!ok) {
        throw new ManifestError(
          manifestPath,
          `${fieldOf(spec)}.shape`,
          `${JSON.stringify(spec.shape)}, but ${modelPath} has ${kind.slice(0, -1)} "${spec.name}" of shape ${formatDims(dims)}`,
          'the model\'s shape (-1 where the model has a dynamic axis)',
        );
      }
    }
  }
}

function fieldName(m: ModelManifest, kind: 'inputs' | 'outputs', name: string): string {
  if (m.task === 'detector') return kind === 'inputs' ? 'input' : 'output';
  if (kind === 'inputs') return m.input.crop.name === name ? 'input.crop' : 'input.meta';
  const k = graderOutputNames(m).find((o) => m.outputs[o]?.name === name) ?? name;
  return `outputs.${k}`;
}

const formatDims = (dims: readonly (number | string)[]) => `[${dims.map((d) => (typeof d === 'number' ? String(d) : `"${d}" (dynamic)`)).join(', ')}]`;
