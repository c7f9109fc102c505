import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { logger, type Logger } from '../observability/logger.js';
import type { IoMetadata } from './manifest.js';
import { JointscoreError } from '../errors.js';

/**
 * onnxruntime-node sessions: made once per (model, provider, threads) and reused, from a
 * small process-wide registry. Execution providers come from configuration:
 *
 * - `cpu`: the CPU provider.
 * - `cuda`: the CUDA provider, or an error saying why it is unavailable (no fallback).
 * - `auto`: CUDA when it can be used, else CPU, with exactly one log line per process
 *   saying that CUDA is unavailable and why.
 *
 * CUDA availability is probed once per process: onnxruntime-node ships its CUDA provider as
 * separate shared libraries that its install script downloads; where they are absent (an
 * install with ONNXRUNTIME_NODE_INSTALL=skip, or not linux x64) the probe says so without
 * asking onnxruntime (which would print a native error on stderr); where they are present,
 * the first session is tried with CUDA and its error, if any, is the reason.
 */
export type ProviderChoice = 'cpu' | 'cuda' | 'auto';
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['cpu', 'cuda', 'auto'];

export interface SessionConfig {
  provider: ProviderChoice;
  /** intra-op threads; 0 or undefined = onnxruntime's default (one per physical core) */
  intraOpThreads?: number;
  /** where the one fallback line goes (default: the program's logger) */
  log?: Logger;
}

export interface TensorData {
  data: Float32Array;
  dims: readonly number[];
}

/** The one thing the pipeline needs from a session: run float32 feeds, get float32 outputs. */
export interface ModelRunner {
  readonly inputs: IoMetadata[];
  readonly outputs: IoMetadata[];
  /** the provider this session really runs on */
  readonly provider: 'cpu' | 'cuda';
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
}

export class ProviderError extends JointscoreError {
  readonly kind = 'model' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ProviderError';
  }
}

class OrtRunner implements ModelRunner {
  readonly inputs: IoMetadata[];
  readonly outputs: IoMetadata[];
  constructor(
    private readonly session: ort.InferenceSession,
    readonly provider: 'cpu' | 'cuda',
  ) {
    const meta = (list: readonly ort.InferenceSession.ValueMetadata[]): IoMetadata[] =>
      list.map((v) => (v.isTensor ? { name: v.name, shape: v.shape, type: v.type } : { name: v.name, type: 'non-tensor' }));
    this.inputs = meta(session.inputMetadata);
    this.outputs = meta(session.outputMetadata);
  }

  async run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor('float32', t.data, t.dims);
    const out = await this.session.run(ortFeeds);
    const result: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(out)) {
      if (t.type !== 'float32') throw new Error(`model output "${name}" is ${t.type}, expected float32`);
      result[name] = { data: t.data as Float32Array, dims: t.dims };
    }
    return result;
  }
}

// ---- CUDA availability, probed once per process ----

export interface CudaProbe {
  available: boolean;
  reason?: string;
}

let cudaProbe: CudaProbe | undefined;
let fallbackLogged = false;

/** Where onnxruntime-node keeps its native binding and provider libraries. */
function ortBinaryDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const bin = join(dirname(pkg), 'bin');
    for (const napi of readdirSync(bin).filter((d) => d.startsWith('napi-v')).sort().reverse()) {
      const dir = join(bin, napi, process.platform, process.arch);
      if (existsSync(dir)) return dir;
    }
  } catch {
    /* fall through */
  }
  return undefined;
}

/** Static part of the probe: can CUDA be asked for at all? (no native call) */
export function cudaPrerequisites(): CudaProbe {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { available: false, reason: `onnxruntime-node has a CUDA provider only on linux x64 (this is ${process.platform} ${process.arch})` };
  }
  const dir = ortBinaryDir();
  if (!dir) return { available: false, reason: 'the onnxruntime-node native binaries were not found' };
  const lib = 'libonnxruntime_providers_cuda.so';
  if (!existsSync(join(dir, lib))) {
    return {
      available: false,
      reason: `${lib} is not installed in ${dir} (onnxruntime-node was installed without its CUDA download, e.g. ONNXRUNTIME_NODE_INSTALL=skip)`,
    };
  }
  return { available: true };
}

/** For tests: forget the probe and the logged fallback. */
export function resetProviderState(): void {
  cudaProbe = undefined;
  fallbackLogged = false;
}

// ---- the registry ----

const registry = new Map<string, Promise<ModelRunner>>();

function registryKey(model: string, c: SessionConfig): string {
  return `${model}\u0000${c.provider}\u0000${c.intraOpThreads ?? 0}`;
}

function baseOptions(c: SessionConfig): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    ...(c.intraOpThreads && c.intraOpThreads > 0 ? { intraOpNumThreads: c.intraOpThreads } : {}),
    // errors are thrown to us; keep onnxruntime's own logging to fatal ones
    logSeverityLevel: 3,
    // onnxruntime's threads spin for a while after each run by default, taking the cores the
    // overlay (sharp) and the event loop need next (on 2 cores that is every core)
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

async function createOn(provider: 'cpu' | 'cuda', bytes: Uint8Array, c: SessionConfig): Promise<ModelRunner> {
  const session = await ort.InferenceSession.create(bytes, { ...baseOptions(c), executionProviders: [provider] });
  return new OrtRunner(session, provider);
}

async function createRunner(bytes: Uint8Array, c: SessionConfig): Promise<ModelRunner> {
  if (c.provider === 'cpu') return createOn('cpu', bytes, c);
  cudaProbe ??= cudaPrerequisites();
  if (c.provider === 'cuda') {
    if (!cudaProbe.available) throw new ProviderError(`provider "cuda" requested but CUDA is unavailable: ${cudaProbe.reason}`);
    try {
      return await createOn('cuda', bytes, c);
    } catch (err) {
      throw new ProviderError(`provider "cuda" requested but onnxruntime could not start it: ${(err as Error).message}`);
    }
  }
  // auto
  if (cudaProbe.available) {
    try {
      return await createOn('cuda', bytes, c);
    } catch (err) {
      cudaProbe = { available: false, reason: `onnxruntime could not start the CUDA provider: ${(err as Error).message}` };
    }
  }
  if (!fallbackLogged) {
    fallbackLogged = true;
    (c.log ?? logger()).warn(`provider auto: CUDA is unavailable, running on CPU: ${cudaProbe.reason}`, {
      provider: 'cpu',
      cudaUnavailable: cudaProbe.reason,
    });
  }
  return createOn('cpu', bytes, c);
}

/**
 * The session for a model (keyed by `model`, e.g. its path and sha256, plus provider and
 * threads), made on first use from `bytes` (weights the caller has already checked) and
 * reused afterwards.
 */
export function getSession(model: string, bytes: () => Promise<Uint8Array> | Uint8Array, c: SessionConfig): Promise<ModelRunner> {
  const key = registryKey(model, c);
  let p = registry.get(key);
  if (!p) {
    p = Promise.resolve()
      .then(bytes)
      .then((b) => createRunner(b, c));
    registry.set(key, p);
    // a failed creation is not cached: the next call tries again
    p.catch(() => registry.delete(key));
  }
  return p;
}

/** Forgets all sessions (they are released when garbage-collected); for tests and reloads. */
export function clearSessions(): void {
  registry.clear();
}

export function sessionCount(): number {
  return registry.size;
}
