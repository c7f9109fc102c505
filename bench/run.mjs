// `npm run bench`: every benchmark in turn, each printing its own reference and target.
import { spawnSync } from 'node:child_process';

const runs = [
  ['phantom render', ['bench/phantom.mjs']],
  ['analyze (shipped models)', ['bench/analyze.mjs', 'models', '5']],
  ['grader graph (against the previous grader release)', ['bench/grader.mjs']],
  ['results: SR encode and overlay (against dcmjs and the one-SVG overlay)', ['bench/results.mjs', 'models', '7']],
  ['node: receive, end-to-end, memory (against DCMTK)', ['bench/node.mjs']],
  ['memory while analysing, by setting', ['bench/analysis-memory.mjs']],
];
let failed = 0;
for (const [name, args] of runs) {
  console.log(`\n== ${name}`);
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
