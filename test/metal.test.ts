import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR } from '../src/cli/analyze.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { writePart10 } from '../src/dicom/part10.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { analyseObject, analysisPolicy, type ObjectResults } from '../src/pipeline/analyse-object.js';
import { makePhantom } from '../src/phantom/generate.js';
import { parsePhantomOptions, specFor } from '../src/phantom/options.js';
import { renderPhantom } from '../src/phantom/render.js';
import { jointLabel } from '../src/reports/labels.js';
import { dciodvfy, runTool } from './helpers/dicom-tools.js';
import { captureLogger } from './helpers/inference.js';
import { readSrJoints } from './helpers/sr-reader.js';

/**
 * Metal beside a joint (issue 9: a joint hidden by an implant is reported as not graded, with
 * the reason): phantom hands with a steel wire across two joints (`jointscore phantom --metal`),
 * through the node's own analysis, the SR and the overlay's labels.
 */
let dir: string;
let models: Models;
let result: ObjectResults;
let wired: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jointscore-metal-'));
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
  const spec = specFor(parsePhantomOptions({ seed: '9200001', metal: true }), 0);
  wired = renderPhantom(spec).metal!.map((m) => `${m.laterality}-${m.site}`).sort();
  const { dicom } = await makePhantom(spec, {}, { preview: false });
  result = await analyseObject(dicom, 'metal.dcm', models, analysisPolicy(DEFAULT_CONFIG.analysis), captureLogger().log);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('joints with metal beside them', () => {
  it('are found and not graded, with the reason; the hand\'s other joints are graded', () => {
    expect(wired).toEqual(['R-MCP1', 'R-MCP5']);
    const [hand] = result.analysis.hands;
    const flagged = hand.joints.filter((j) => j.notGraded?.cause === 'metal');
    expect(flagged.map((j) => `${hand.laterality}-${j.site}`).sort()).toEqual(wired);
    for (const j of flagged) {
      expect(j.notGraded!.reason).toMatch(new RegExp(`^metal lies within 5 mm of ${j.site} \\(`));
      expect([j.jsn, j.erosion, j.kl]).toEqual([undefined, undefined, undefined]);
      // what the overlay draws beside it
      expect(jointLabel(j)).toBe(`${j.site} not graded`);
    }
    expect(hand.joints.filter((j) => !j.notGraded).length).toBeGreaterThanOrEqual(17);
  });

  it('the SR says "Metal over the joint" for each; dciodvfy and dsrdump clean', async () => {
    const sr = result.objects.find((o) => o.kind === 'sr')!;
    const file = join(dir, 'metal-sr.dcm');
    writeFileSync(file, writePart10(await sr.dataset));
    const joints = readSrJoints(await sr.dataset);
    expect(joints.filter((j) => j.notGraded).map((j) => [j.trackingIdentifier, j.notGraded])).toEqual(
      wired.map((id) => [id, 'Metal over the joint']),
    );
    const v = dciodvfy(file);
    expect(v.errors, v.output).toEqual([]);
    const dump = runTool('dsrdump', ['+Pl', file]);
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toContain('Metal over the joint');
  });
});
