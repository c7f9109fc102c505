// The sites named "not found" on the hands of `jointscore analyze --json` output (an array): hands
// whose view was judged (PA or partial PA), those with a site not found, and how often each site.
// Build first (`npx tsc -p .`), then
//   node bin/jointscore.js analyze <folder> --json > a.json && node scripts/sites-not-found.mjs a.json
import { readFileSync } from 'node:fs';
import { sitesNotFound } from '../dist/analysis/hand-analysis.js';

const analyses = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let hands = 0;
let withMissing = 0;
const bySite = {};
for (const a of analyses) {
  for (const h of a.hands) {
    if (!h.view) continue;
    hands++;
    const missing = sitesNotFound(h);
    if (missing.length) withMissing++;
    for (const s of missing) bySite[s] = (bySite[s] ?? 0) + 1;
  }
}
const total = Object.values(bySite).reduce((x, y) => x + y, 0);
console.log(`${hands} hands with a view judged; ${withMissing} with sites not found (${total} sites)`);
console.log(Object.entries(bySite).sort((x, y) => y[1] - x[1]).map(([s, n]) => `${s} ${n}`).join(', '));
