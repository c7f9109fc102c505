// Where the memory of analysing goes: the resident size a process gains over ten analyses of
// 2048 x 2560 radiographs with all three results built and encoded (the node's path without
// its network and queue), under the settings that shape it. Each variant runs in a fresh
// process. Build first (`npx tsc -p .`), then: node bench/analysis-memory.mjs [count]
//   as the node runs it       libvips' operation cache off, the container's malloc settings:
//                             MALLOC_ARENA_MAX=2, MALLOC_MMAP_THRESHOLD_=131072 (Dockerfile)
//   libvips cache on          sharp's default cache (50 MB of recent operations)
//   glibc's mmap threshold    MALLOC_MMAP_THRESHOLD_ unset (glibc raises it after each large
//                             free, up to 32 MB, so image-sized buffers come from the arenas)
//   glibc's defaults          neither set (also up to 8 x cores arenas)
// A figure is the VmHWM (peak resident size) after the runs minus the resident size before
// the first, so model loading and the test images are not counted.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? 10);
const me = fileURLToPath(import.meta.url);

if (process.env.JS_MEMORY_CHILD) {
  const sharp = (await import('sharp')).default;
  const { analyseObject, analysisPolicy } = await import('../dist/pipeline/analyse-object.js');
  const { part10Pieces } = await import('../dist/dicom/part10.js');
  const { loadModels } = await import('../dist/inference/models.js');
  const { encodePhantomDx } = await import('../dist/phantom/dicom-dx.js');
  const { renderPhantom } = await import('../dist/phantom/render.js');
  const { DEFAULT_CONFIG } = await import('../dist/config/defaults.js');
  const { logger } = await import('../dist/observability/logger.js');
  if (process.env.JS_MEMORY_CHILD === 'node') sharp.cache(false);
  const status = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
  const models = await loadModels('models', { provider: 'cpu' });
  const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
  const files = [];
  for (let s = 0; s < 3; s++) {
    const r = renderPhantom({ seed: 20 + s, profile: 'mixed', layout: 'one', laterality: 'L', rows: 2560, columns: 2048, pixelSpacingMm: 0.15 });
    files.push(Buffer.from((await encodePhantomDx(r, { bitsStored: 12, photometric: 'MONOCHROME2', transferSyntax: '1.2.840.10008.1.2.1' })).bytes));
  }
  const before = status('VmRSS');
  for (let i = 0; i < N; i++) {
    const { objects } = await analyseObject(Buffer.from(files[i % files.length]), `phantom ${i}`, models, policy, logger());
    for (const o of objects) part10Pieces(await o.dataset);
  }
  console.log(JSON.stringify({ before, peak: status('VmHWM'), after: status('VmRSS') }));
} else {
  const container = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' };
  const variants = [
    ['as the node runs it', 'node', container],
    ['libvips cache on', 'cache', container],
    ["glibc's mmap threshold", 'node', { MALLOC_ARENA_MAX: '2' }],
    ["glibc's defaults", 'node', {}],
  ];
  console.log(`analysis memory: ${N} analyses of 2048 x 2560 phantoms with SR, SC and PR encoded, each variant in a fresh process`);
  for (const [name, child, malloc] of variants) {
    const env = { ...process.env, JS_MEMORY_CHILD: child };
    for (const key of Object.keys(container)) delete env[key];
    Object.assign(env, malloc);
    const r = spawnSync(process.execPath, [me, String(N)], { env, encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(`${name}: failed\n${r.stderr}`);
      process.exitCode = 1;
      continue;
    }
    const m = JSON.parse(r.stdout.trim().split('\n').pop());
    console.log(`  ${name.padEnd(24)} resident before ${m.before.toFixed(0)} MB, peak ${m.peak.toFixed(0)} MB: +${(m.peak - m.before).toFixed(0)} MB while analysing`);
  }
}
