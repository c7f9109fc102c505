// Real-film check of the film check: what the node does with each kind of film a PACS routes.
// A list (committed, counted by eye: docs/eval/real-films/) names what each film shows:
// hand, finger, wrist, "hand in cast or on a forearm film", or "no hand". Each film goes
// through the node's own analysis; the script counts, per kind, the films on which a hand was
// graded (whole, or as a partial view: wrist-only, finger-only), found but not graded (and
// why), or not found; then, per kind, what the detector saw
// (joints per hand and their mean confidence, every hand it found, graded or not: the
// measurements behind the detector manifest's calibration), the closest pair of MCPs over
// its PA-layout distance of the hands graded and of those found but not graded (view.ts
// `closestMcpPair`: one head named twice marks an oblique), and the coverage of the joints of
// graded hands, with the causes of those not graded. Not a test: the films are not part of
// the project. Build first (`npx tsc -p .`), then
//   node scripts/film-kinds.mjs <folder of PNG/JPEG films> <list.csv> [models folder] [--films]
// --films prints one line per film as well. Where the list names views (", PA", "oblique",
// "lateral"), it also counts the films whose view the node got right (`viewAgrees`).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyseObject, analysisPolicy } from '../dist/pipeline/analyse-object.js';
import { loadModels } from '../dist/inference/models.js';
import { detectAnyOrientation } from '../dist/inference/orientation.js';
import { closestMcpPair, withoutStrays } from '../dist/inference/view.js';
import { DEFAULT_CONFIG } from '../dist/config/defaults.js';
import { logger } from '../dist/observability/logger.js';
import { filmListArgs, showsPaHand, showsPaPartial } from './film-list.mjs';

const { dir, rows, modelsDir, perFilm } = filmListArgs('film-kinds.mjs');
const models = await loadModels(modelsDir, { provider: 'cpu' });
const policy = analysisPolicy(DEFAULT_CONFIG.analysis);
const log = logger();
const table = new Map();
/** per kind: [joints, mean confidence] of each hand the detector found; joints of graded hands by cause */
const seen = new Map();
/**
 * MCP2-MCP5 span over the MCP3-CSL length of a hand's joints found: how narrow the hand
 * looks across (an oblique view narrows a turned hand; docs/evaluation.md, oblique views)
 */
const spanRatio = (joints) => {
  const at = Object.fromEntries(joints.map((j) => [j.site, j]));
  const d = (a, b) => Math.hypot(at[a].x - at[b].x, at[a].y - at[b].y);
  return ['MCP2', 'MCP5', 'MCP3', 'CSL'].every((s) => at[s]) ? d('MCP2', 'MCP5') / d('MCP3', 'CSL') : undefined;
};
const range = (xs, d) => (xs.length ? `${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)}` : '-');
/**
 * Whether the node's outcome is the right one for a film of a named view: a PA hand (alone or
 * beside another view) graded as a hand; a PA wrist or finger film (alone or beside another
 * view) graded as a partial PA view, or a finger film seen as one (not graded: which finger a
 * finger alone does not show, and a picture has no header to name it); any other view (oblique,
 * lateral, forearm, not a radiograph) not graded at all. A child's hand (open growth plates) is
 * judged a PA hand before its age is: "child, not graded" agrees with a PA hand. `strict`: the
 * rule before finger films were seen (session 44), a finger film right only when graded.
 */
function viewAgrees(shows, outcome, strict = false) {
  if (showsPaHand(shows)) return outcome === 'hand graded' || outcome === 'child, not graded';
  if (showsPaPartial(shows)) return outcome === 'partial view graded' || (!strict && /finger/.test(shows) && outcome === 'finger film seen, not graded');
  return outcome !== 'hand graded' && outcome !== 'partial view graded';
}
const namesViews = rows.some(({ shows }) => /, PA|oblique|lateral/.test(shows));
let agree = 0;
let agreeStrict = 0;

for (const { file, shows } of rows) {
  const { analysis, display } = await analyseObject(readFileSync(join(dir, file)), file, models, policy, log);
  const found = await detectAnyOrientation(display, models.detector.manifest, models.detector.runner);
  const k = seen.get(shows) ?? { hands: [], joints: 0, causes: {}, spans: [], mcps: { graded: [], other: [] } };
  for (const h of analysis.hands) if (spanRatio(h.joints) !== undefined) k.spans.push(spanRatio(h.joints));
  for (const side of ['L', 'R']) {
    const hand = found.candidates.filter((c) => c.laterality === side);
    if (hand.length) k.hands.push([hand.length, hand.reduce((a, c) => a + c.confidence, 0) / hand.length]);
    // the detector's joints on the whole film as its view check sees them (stray joints dropped; a film
    // read panel by panel was judged on its panels: its whole-film pair says less)
    const pair = hand.length ? closestMcpPair(withoutStrays(hand, side).kept, side) : undefined;
    if (pair) k.mcps[analysis.hands.some((h) => h.laterality === side && h.view?.kind === 'PA') ? 'graded' : 'other'].push(pair.share);
  }
  for (const j of analysis.hands.flatMap((h) => h.joints)) {
    k.joints++;
    const cause = j.notGraded?.cause ?? 'graded';
    k.causes[cause] = (k.causes[cause] ?? 0) + 1;
  }
  seen.set(shows, k);
  const outcome = analysis.hands.some((h) => h.view?.kind === 'PA-partial')
    ? 'partial view graded'
    : analysis.hands.length > 0
    ? 'hand graded'
    : analysis.notGraded?.some((n) => n.cause === 'immature')
    ? 'child, not graded'
    : analysis.notGraded?.some((n) => n.view === 'finger')
    ? 'finger film seen, not graded'
    : analysis.notGraded?.some((n) => n.cause !== 'unrecognised')
      ? 'hand found, not graded (view)'
      : analysis.notGraded?.length
        ? 'not recognised as a hand'
        : 'nothing found';
  const t = table.get(shows) ?? new Map();
  t.set(outcome, (t.get(outcome) ?? 0) + 1);
  table.set(shows, t);
  agree += namesViews && viewAgrees(shows, outcome) ? 1 : 0;
  agreeStrict += namesViews && viewAgrees(shows, outcome, true) ? 1 : 0;
  if (perFilm) console.log(`${file}\t${shows}\t${outcome}\t${analysis.hands.map((h) => `${h.laterality}:${h.joints.length}${h.view?.notInView ? ` (not in view ${h.view.notInView.length})` : ''}`).join(' ')}`);
}
const outcomes = ['hand graded', 'partial view graded', 'child, not graded', 'finger film seen, not graded', 'hand found, not graded (view)', 'not recognised as a hand', 'nothing found'];
console.log(`| film shows | films | ${outcomes.join(' | ')} |`);
console.log(`|---|---:|${outcomes.map(() => '---:').join('|')}|`);
for (const [shows, t] of [...table].sort()) {
  const n = [...t.values()].reduce((a, b) => a + b, 0);
  console.log(`| ${shows} | ${n} | ${outcomes.map((o) => t.get(o) ?? 0).join(' | ')} |`);
}
if (namesViews) {
  console.log(`\nview found agrees with the list (viewAgrees): ${agree} of ${rows.length} films (${((100 * agree) / rows.length).toFixed(0)} %)`);
  console.log(`  a finger film right only when graded (the rule before session 44): ${agreeStrict} of ${rows.length}`);
}
console.log('\n| film shows | hands the detector found | joints per hand | mean confidence | joints of graded hands | graded | not graded, by cause | MCP2-MCP5 / MCP3-CSL, graded hands | closest MCPs / PA layout, detector joints on the whole film: sides with a whole hand graded; the others |');
console.log('|---|---:|---|---|---:|---:|---|---|---|');
for (const [shows, k] of [...seen].sort()) {
  const { graded = 0, ...not } = k.causes;
  const share = k.joints ? ` (${((100 * graded) / k.joints).toFixed(1)} %)` : '';
  const causes = Object.entries(not).map(([c, n]) => `${c} ${n}`).join(', ') || '-';
  console.log(`| ${shows} | ${k.hands.length} | ${range(k.hands.map((h) => h[0]), 0)} | ${range(k.hands.map((h) => h[1]), 2)} | ${k.joints} | ${graded}${share} | ${causes} | ${range(k.spans, 2)} | ${range(k.mcps.graded, 2)}; ${range(k.mcps.other, 2)} |`);
}

