// Render speed of the synthetic radiograph renderer on one thread.
// Build first (`npx tsc -p .`), then: node bench/phantom.mjs [count]
import { renderPhantom } from '../dist/phantom/render.js';

const N = Number(process.argv[2] ?? 12);
const TARGET_PER_S = 2;
const spec = (seed) => ({
  seed, profile: ['mixed', 'ra', 'oa', 'healthy'][seed % 4], layout: seed % 5 === 0 ? 'both' : 'one',
  laterality: seed % 2 ? 'L' : 'R', rows: 2560, columns: 2048, pixelSpacingMm: 0.15,
});

renderPhantom(spec(0)); // warm-up: JIT and lookup tables
const ms = [];
for (let i = 1; i <= N; i++) {
  const t = performance.now();
  renderPhantom(spec(i));
  ms.push(performance.now() - t);
}
ms.sort((a, b) => a - b);
const median = ms[Math.floor(ms.length / 2)];
const perS = 1000 / median;
console.log(`phantom 2048x2560 @ 0.15 mm, ${N} images, one thread`);
console.log(`  median ${median.toFixed(0)} ms/image (min ${ms[0].toFixed(0)}, max ${ms[ms.length - 1].toFixed(0)}), ${perS.toFixed(2)} images/s`);
console.log(`  target >= ${TARGET_PER_S} images/s: ${perS >= TARGET_PER_S ? 'PASS' : 'FAIL'}`);
process.exitCode = perS >= TARGET_PER_S ? 0 : 1;
