// Experiment (not kept): a graded hand's phalanx proportions from `jointscore analyze --json` output, per hand the
// median over rays of proximal phalanx over metacarpal (MCPn-PIPn over CMCn-MCPn, n = 3-5) and middle over proximal
// phalanx (PIPn-DIPn over MCPn-PIPn, n = 2-5): toes are short against their metatarsals, hands' are not
// (docs/evaluation.md "Feet").   node models/training/experiments/toe_proportions.mjs feet.json rp.json ...  (ALL=1: every hand)
import { readFileSync } from 'node:fs';
for (const f of process.argv.slice(2)) {
  let d = JSON.parse(readFileSync(f)); d = Array.isArray(d) ? d : [d];
  const rows = [];
  for (const a of d) for (const h of a.hands) {
    if (!h.joints.length) continue;
    const j = Object.fromEntries(h.joints.map((x) => [x.site, x]));
    const dist = (p, q) => (j[p] && j[q] ? Math.hypot(j[p].x - j[q].x, j[p].y - j[q].y) : NaN);
    const med = (xs) => { xs = xs.filter(Number.isFinite).sort((a, b) => a - b); return xs.length ? xs[(xs.length - 1) >> 1] : NaN; };
    const pm = med([3, 4, 5].map((n) => dist(`MCP${n}`, `PIP${n}`) / dist(`CMC${n}`, `MCP${n}`)));
    const mp = med([2, 3, 4, 5].map((n) => dist(`PIP${n}`, `DIP${n}`) / dist(`MCP${n}`, `PIP${n}`)));
    rows.push({ pm, mp, n: h.joints.length, id: (a.source.file ?? a.source.sopInstanceUID ?? '').split('/').pop() });
  }
  const q = (k) => { const v = rows.map((r) => r[k]).filter(Number.isFinite).sort((a, b) => a - b); return v.length ? `min ${v[0].toFixed(2)} p5 ${v[Math.floor(v.length * 0.05)].toFixed(2)} med ${v[v.length >> 1].toFixed(2)} max ${v[v.length - 1].toFixed(2)} (${v.length})` : '-'; };
  console.log(f, 'hands', rows.length, '\n  phalanx/metacarpal', q('pm'), '\n  middle/proximal', q('mp'));
  if (process.env.ALL) for (const r of rows.sort((a, b) => a.pm - b.pm)) console.log('   ', r.pm.toFixed(2), r.mp.toFixed(2), r.n, r.id);
}
