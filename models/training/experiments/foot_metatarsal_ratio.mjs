// Experiment (not kept): MCPn-CMCn over MCP2-MCP5 per graded hand, from `jointscore analyze --json` output
// (phantom feet against real PA hands).   node models/training/experiments/foot_metatarsal_ratio.mjs feet.json rp.json
import { readFileSync } from 'node:fs';
for (const f of process.argv.slice(2)) {
  let d = JSON.parse(readFileSync(f)); d = Array.isArray(d) ? d : [d];
  const out = [];
  for (const a of d) for (const h of a.hands) {
    const j = Object.fromEntries(h.joints.map((x) => [x.site, x]));
    const dist = (p, q) => (j[p] && j[q] ? Math.hypot(j[p].x - j[q].x, j[p].y - j[q].y) : NaN);
    const span = dist('MCP2', 'MCP5');
    const r3 = dist('MCP3', 'CMC3') / span, r4 = dist('MCP4', 'CMC4') / span, r5 = dist('MCP5', 'CMC5') / span;
    const rc = dist('MCP3', 'RC') / span;
    out.push([r3, r4, r5, rc].map((x) => x.toFixed(2)).join(' ') + ' ' + (a.source.sopInstanceUID.slice(-6)) + ' ' + h.laterality + ' ' + (h.view?.kind ?? ''));
  }
  console.log('==', f, out.length); console.log(out.sort().join('\n'));
}
