// Checks that onnxruntime-node reproduces torch on the exported models' test vectors
// (models/<name>/test-vector.json, written by export.py), that the manifests' sha256 and
// shapes match the files, and times CPU inference.
//   node models/training/verify_onnx.mjs
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bytesToF32 = (b64) => Float32Array.from(Buffer.from(b64, 'base64'), (k) => k / 256);
const f32 = (b64) => { const b = Buffer.from(b64, 'base64'); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
let failures = 0;
const check = (what, diff, tol) => {
  const ok = diff <= tol;
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: max abs diff ${diff.toExponential(2)} (tol ${tol})`);
};

async function time(session, feeds, n = 20) {
  await session.run(feeds);
  const t = performance.now();
  for (let i = 0; i < n; i++) await session.run(feeds);
  return (performance.now() - t) / n;
}

async function open(name) {
  const dir = join(root, 'models', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const bytes = readFileSync(join(dir, manifest.file));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.sha256) { failures++; console.log(`FAIL ${name}: sha256 ${sha} != manifest ${manifest.sha256}`); }
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  const tv = JSON.parse(readFileSync(join(dir, 'test-vector.json'), 'utf8'));
  return { manifest, session, tv };
}

// the partial-view detector (models/jointscore-partial) is optional, checked where present
for (const name of ['jointscore-detector', 'jointscore-partial'].filter((n, i) => i === 0 || existsSync(join(root, 'models', n)))) {
  const { manifest, session, tv } = await open(name);
  const feeds = { [manifest.input.name]: new ort.Tensor('float32', bytesToF32(tv.input.data), tv.input.shape) };
  const out = (await session.run(feeds))[manifest.output.name];
  console.log(`${name} output`, out.dims.join('x'), 'manifest', manifest.output.shape.join('x'));
  if (out.dims.join() !== manifest.output.shape.join()) failures++;
  const cells = out.dims[2] * out.dims[3];
  const e = tv.expected;
  let dMax = 0, dSum = 0, dProbe = 0, argmaxMismatch = 0;
  for (let k = 0; k < out.dims[1]; k++) {
    let mx = -Infinity, am = 0, s = 0;
    for (let i = 0; i < cells; i++) { const v = out.data[k * cells + i]; s += v; if (v > mx) { mx = v; am = i; } }
    dMax = Math.max(dMax, Math.abs(mx - e.channelMax[k]));
    dSum = Math.max(dSum, Math.abs(s - e.channelSum[k]));
    if (am !== e.channelArgmax[k] && Math.abs(out.data[k * cells + e.channelArgmax[k]] - mx) > 1e-4) argmaxMismatch++;
  }
  e.probeIndices.forEach((idx, i) => { dProbe = Math.max(dProbe, Math.abs(out.data[idx] - e.probeValues[i])); });
  check(`${name} channel maxima`, dMax, tv.tolerance.values);
  check(`${name} probe values`, dProbe, tv.tolerance.values);
  check(`${name} channel sums`, dSum, tv.tolerance.channelSum);
  check(`${name} argmax mismatches`, argmaxMismatch, 0);
  console.log(`${name} onnxruntime-node CPU (2 threads): ${(await time(session, feeds)).toFixed(1)} ms per image`);
}

{
  const { manifest, session, tv } = await open('jointscore-grader');
  const crop = new ort.Tensor('float32', bytesToF32(tv.inputs.crop.data), tv.inputs.crop.shape);
  const meta = new ort.Tensor('float32', f32(tv.inputs.meta.data), tv.inputs.meta.shape);
  const res = await session.run({ [manifest.input.crop.name]: crop, [manifest.input.meta.name]: meta });
  // the joint space width (grader >= 0.8.0) is checked where the manifest declares it
  for (const key of ['jsn', 'erosion', 'kl', 'geometry', 'jsw'].filter((k) => manifest.outputs[k])) {
    const o = res[manifest.outputs[key].name];
    const exp = tv.expected[key].flat();
    let d = 0;
    for (let i = 0; i < exp.length; i++) d = Math.max(d, Math.abs(o.data[i] - exp[i]));
    check(`grader ${key} [${o.dims.join('x')}]`, d, tv.tolerance[key] ?? tv.tolerance.probabilities);
    if (key !== 'geometry' && key !== 'jsw') {
      const k = o.dims[1];
      for (let r = 0; r < o.dims[0]; r++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += o.data[r * k + c];
        if (Math.abs(s - 1) > 1e-5) { failures++; console.log(`FAIL grader ${key} row ${r} sums to ${s}`); }
      }
    }
  }
  const n = 21;
  const big = {
    [manifest.input.crop.name]: new ort.Tensor('float32', new Float32Array(n * 112 * 112).fill(0.5), [n, 1, 112, 112]),
    [manifest.input.meta.name]: new ort.Tensor('float32', new Float32Array(n * 23), [n, 23]),
  };
  console.log(`grader onnxruntime-node CPU (2 threads): ${(await time(session, big, 10)).toFixed(1)} ms per 21 crops`);
}

console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
