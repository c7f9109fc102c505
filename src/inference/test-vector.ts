import { readFile } from 'node:fs/promises';
import { decodeHeatmap } from './detector.js';
import { GRADER_OUTPUTS, graderOutputNames, type ModelManifest } from './manifest.js';
import type { ModelRunner, TensorData } from './session.js';

/**
 * test-vector.json beside a model: inputs, and what the exporting framework computed for
 * them, so that the node can show it reproduces the model (same weights, same semantics).
 *
 * Two forms are read:
 *
 * 1. models/training/export.py's (the real models):
 *    - inputs as `input` (one tensor) or `inputs` (by name), each `{ name, shape, encoding,
 *      data }` with encoding "uint8 base64, value = byte / 256" or "float32 base64
 *      little-endian" (a plain `values` array is used when there is no encoding);
 *    - detector `expected`: channelMax, channelArgmax, channelSum, probeIndices +
 *      probeValues (flat indices into the output), decodedXY (input pixels, peak + 3 x 3
 *      centroid, as the node decodes); `tolerance`: { values, channelSum };
 *    - grader `expected`: { jsn, erosion, kl, geometry } as nested arrays; `tolerance`:
 *      { probabilities, geometry }.
 * 2. generic: `inputs` and `outputs` by name, each `{ shape, data }` (flat or nested), and
 *    `atol` / `rtol` (test/fixtures/make_tiny_models.py writes this one).
 *
 * A check passes when |actual - expected| <= atol + rtol |expected| for every value.
 */
export interface Expectation {
  what: string;
  expected: number[];
  atol: number;
  rtol: number;
  actual(outputs: Record<string, TensorData>): number[];
}

export interface TestVector {
  inputs: Record<string, TensorData>;
  expectations: Expectation[];
}

export interface CheckResult {
  what: string;
  maxAbsDiff: number;
  outside: number;
  count: number;
  atol: number;
}

export interface TestVectorResult {
  ok: boolean;
  checks: CheckResult[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function flatten(v: unknown, shape: number[], depth = 0): number[] {
  if (!Array.isArray(v)) return [Number(v)];
  if (shape.length === depth) shape.push(v.length);
  return v.flatMap((x) => flatten(x, shape, depth + 1));
}

function decodeData(o: Json, where: string): { data: Float32Array; implied: number[] } {
  const enc = typeof o.encoding === 'string' ? o.encoding.toLowerCase() : undefined;
  const b64 = typeof o.data === 'string' ? o.data : typeof o.base64 === 'string' ? o.base64 : undefined;
  if (b64 !== undefined) {
    const b = Buffer.from(b64, 'base64');
    if (enc?.includes('uint8')) {
      const m = /byte\s*\/\s*(\d+(?:\.\d+)?)/.exec(enc);
      const div = m ? Number(m[1]) : 255;
      return { data: Float32Array.from(b, (k) => k / div), implied: [] };
    }
    if (enc === undefined || enc.includes('float32')) {
      const copy = new Uint8Array(b);
      return { data: new Float32Array(copy.buffer, 0, copy.byteLength >> 2), implied: [] };
    }
    throw new Error(`${where}: unknown encoding "${o.encoding}"`);
  }
  const raw = o.data ?? o.values ?? o.value;
  if (!Array.isArray(raw)) throw new Error(`${where}: no "data" (base64 or array) or "values" array`);
  const implied: number[] = [];
  return { data: Float32Array.from(flatten(raw, implied)), implied };
}

function tensorOf(v: unknown, where: string): TensorData {
  if (Array.isArray(v)) {
    const shape: number[] = [];
    return { data: Float32Array.from(flatten(v, shape)), dims: shape };
  }
  if (!isObj(v)) throw new Error(`${where}: expected a tensor ({ "shape", "data" } or a nested array), found ${JSON.stringify(v)?.slice(0, 60)}`);
  const { data, implied } = decodeData(v, where);
  const shapeRaw = v.shape ?? v.dims;
  const dims = Array.isArray(shapeRaw) ? shapeRaw.map(Number) : implied.length > 1 ? implied : [data.length];
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`${where}: shape [${dims.join(', ')}] holds ${count} values, the data has ${data.length}`);
  return { data, dims };
}

const looksLikeTensor = (v: unknown) => isObj(v) && typeof v.name === 'string' && ('data' in v || 'values' in v || 'base64' in v);

function tensorsByName(v: unknown, where: string): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  if (looksLikeTensor(v)) {
    out[(v as Json).name as string] = tensorOf(v, where);
    return out;
  }
  if (Array.isArray(v)) {
    for (const [i, t] of v.entries()) {
      const name = (t as { name?: unknown })?.name;
      if (typeof name !== 'string') throw new Error(`${where}[${i}]: no "name"`);
      out[name] = tensorOf(t, `${where}[${i}] ("${name}")`);
    }
    return out;
  }
  if (!isObj(v)) throw new Error(`${where}: expected tensors by name`);
  for (const [key, t] of Object.entries(v)) {
    const name = isObj(t) && typeof t.name === 'string' ? t.name : key;
    out[name] = tensorOf(t, `${where}.${key}`);
  }
  return out;
}

const nums = (v: unknown, where: string): number[] => {
  if (!Array.isArray(v)) throw new Error(`${where}: expected an array of numbers`);
  return flatten(v, []);
};

function output(outs: Record<string, TensorData>, name: string): TensorData {
  const t = outs[name];
  if (!t) throw new Error(`the model has no output "${name}" (its outputs: ${Object.keys(outs).join(', ')})`);
  return t;
}

/** Per-channel statistics of a [1, K, H, W] output. */
function channels(t: TensorData): { k: number; cells: number } {
  const [, k, h, w] = t.dims;
  return { k, cells: h * w };
}

function heatmapExpectations(e: Json, name: string, stride: number, tol: Json, file: string): Expectation[] {
  const values = typeof tol.values === 'number' ? tol.values : 1e-4;
  const sumTol = typeof tol.channelSum === 'number' ? tol.channelSum : 1e-2;
  const list: Expectation[] = [];
  const perChannel = (f: (d: Float32Array, base: number, cells: number, k: number) => number) => (outs: Record<string, TensorData>) => {
    const t = output(outs, name);
    const { k, cells } = channels(t);
    return Array.from({ length: k }, (_, c) => f(t.data, c * cells, cells, c));
  };
  const max = (d: Float32Array, base: number, cells: number) => {
    let m = -Infinity;
    for (let i = 0; i < cells; i++) if (d[base + i] > m) m = d[base + i];
    return m;
  };
  if (e.channelMax) list.push({ what: `${name} channel maxima`, expected: nums(e.channelMax, `${file}: expected.channelMax`), atol: values, rtol: 0, actual: perChannel(max) });
  if (e.channelSum) {
    list.push({
      what: `${name} channel sums`, expected: nums(e.channelSum, `${file}: expected.channelSum`), atol: sumTol, rtol: 0,
      actual: perChannel((d, base, cells) => {
        let s = 0;
        for (let i = 0; i < cells; i++) s += d[base + i];
        return s;
      }),
    });
  }
  if (e.channelArgmax) {
    // the expected argmax cell must hold the channel's maximum (ties within tolerance allowed)
    const am = nums(e.channelArgmax, `${file}: expected.channelArgmax`);
    list.push({
      what: `${name} channel argmax (max - value at the expected cell)`, expected: am.map(() => 0), atol: values, rtol: 0,
      actual: perChannel((d, base, cells, c) => max(d, base, cells) - d[base + am[c]]),
    });
  }
  if (e.probeIndices && e.probeValues) {
    const idx = nums(e.probeIndices, `${file}: expected.probeIndices`);
    list.push({
      what: `${name} probe values`, expected: nums(e.probeValues, `${file}: expected.probeValues`), atol: values, rtol: 0,
      actual: (outs) => idx.map((i) => output(outs, name).data[i]),
    });
  }
  if (e.decodedXY) {
    list.push({
      what: `${name} decoded joints (input px, the node's decodeHeatmap)`, expected: nums(e.decodedXY, `${file}: expected.decodedXY`), atol: 1e-2, rtol: 0,
      actual: (outs) => decodeAll(output(outs, name), stride),
    });
  }
  return list;
}

/** Every channel decoded (no threshold) at scale 1: input pixels. */
function decodeAll(t: TensorData, stride: number): number[] {
  const names = Array.from({ length: t.dims[1] }, () => 'L-MCP2'); // names do not matter here
  return decodeHeatmap(t, { stride, threshold: -Infinity, scale: 1, channels: names }).flatMap((c) => [c.x, c.y]);
}

export function parseTestVector(json: unknown, file: string, manifest?: ModelManifest): TestVector {
  if (!isObj(json)) throw new Error(`${file}: expected a JSON object`);
  const ins = json.inputs ?? json.input ?? json.feeds;
  if (ins === undefined) throw new Error(`${file}: no "inputs" (or "input"); found keys ${Object.keys(json).join(', ')}`);
  const inputs = tensorsByName(ins, `${file}: inputs`);
  const tol = isObj(json.tolerance) ? json.tolerance : {};
  const atol = (typeof json.atol === 'number' ? json.atol : typeof json.tolerance === 'number' ? json.tolerance : undefined) ?? 1e-4;
  const rtol = typeof json.rtol === 'number' ? json.rtol : 0;
  const expectations: Expectation[] = [];

  const expected = json.expected;
  const generic = json.outputs ?? (isObj(json.output) && looksLikeTensor(json.output) ? json.output : undefined);
  if (isObj(expected) && ('channelMax' in expected || 'probeValues' in expected || 'decodedXY' in expected)) {
    const name = (isObj(json.output) && typeof json.output.name === 'string' ? json.output.name : undefined) ??
      (manifest?.task === 'detector' ? manifest.output.name : 'heatmaps');
    const inputSide = Object.values(inputs)[0]?.dims.at(-1) ?? 0;
    const outShape = isObj(json.output) && Array.isArray(json.output.shape) ? (json.output.shape as number[]) : undefined;
    const stride = manifest?.task === 'detector' && manifest.output.layout === 'heatmap' ? manifest.output.stride
      : outShape ? inputSide / Number(outShape.at(-1)) : 4;
    expectations.push(...heatmapExpectations(expected, name, stride, tol, file));
  } else if (isObj(expected) || generic !== undefined) {
    const byKey = isObj(expected) ? expected : (generic as Json);
    for (const [key, value] of Object.entries(byKey)) {
      const want = tensorsByName({ [key]: value }, `${file}: expected`)[isObj(value) && typeof value.name === 'string' ? value.name : key];
      const isGraderKey = (GRADER_OUTPUTS as readonly string[]).includes(key);
      const declared = manifest?.task === 'grader' && (graderOutputNames(manifest) as string[]).includes(key);
      const name = declared ? manifest.outputs[key as keyof typeof manifest.outputs]!.name : key;
      const keyTol = typeof tol[key] === 'number' ? (tol[key] as number)
        : isGraderKey && key !== 'geometry' && typeof tol.probabilities === 'number' ? tol.probabilities
        : typeof tol.values === 'number' ? tol.values : atol;
      expectations.push({ what: name, expected: Array.from(want.data), atol: keyTol, rtol, actual: (outs) => Array.from(output(outs, name).data) });
    }
  }
  if (expectations.length === 0) throw new Error(`${file}: nothing to compare ("expected" or "outputs" missing or empty)`);
  return { inputs, expectations };
}

export async function readTestVector(file: string, manifest?: ModelManifest): Promise<TestVector> {
  return parseTestVector(JSON.parse(await readFile(file, 'utf8')), file, manifest);
}

/** Runs the vector's inputs through the model and evaluates every expectation. */
export async function checkTestVector(runner: ModelRunner, v: TestVector): Promise<TestVectorResult> {
  const outs = await runner.run(v.inputs);
  const checks = v.expectations.map((e): CheckResult => {
    const got = e.actual(outs);
    if (got.length !== e.expected.length) {
      return { what: `${e.what}: ${got.length} values from the model, ${e.expected.length} expected`, maxAbsDiff: Infinity, outside: e.expected.length, count: e.expected.length, atol: e.atol };
    }
    let maxAbsDiff = 0;
    let outside = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i] - e.expected[i]);
      if (!(d <= e.atol + e.rtol * Math.abs(e.expected[i]))) outside++;
      if (d > maxAbsDiff || Number.isNaN(d)) maxAbsDiff = d;
    }
    return { what: e.what, maxAbsDiff, outside, count: got.length, atol: e.atol };
  });
  return { ok: checks.every((c) => c.outside === 0), checks };
}
