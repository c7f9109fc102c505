import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/types.js';
import { PixelDataIntegrityError } from '../src/dicom/integrity.js';
import { DimseError } from '../src/dimse/scu.js';
import { EXIT_CODES, exitCodeOf, JointscoreError, operatorMessage } from '../src/errors.js';
import { DatasetError } from '../src/eval/dataset.js';
import { ImageFileError } from '../src/imaging/decode.js';
import { ManifestError, ModelIntegrityError } from '../src/inference/manifest.js';
import { ProviderError } from '../src/inference/session.js';
import { OptionError } from '../src/phantom/options.js';
import { BadInputError } from '../src/pipeline/worker.js';
import { ReportBuildError } from '../src/reports/common.js';
import { SrBuildError } from '../src/reports/sr/content-items.js';
import { FIXTURES, makeFixture } from '../src/phantom/fixtures.js';

/** One root for jointscore's errors: each kind ends a command with its own exit code and a hint. */
const dir = mkdtempSync(join(tmpdir(), 'jointscore-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('errors', () => {
  it('every error class of the node has the one root and the kind an operator acts on', () => {
    const kinds = [
      [new ConfigError('dimse.port', 0, 'a port'), 'config'],
      [new OptionError('count', -1, 'a positive integer'), 'config'],
      [new ManifestError('m.json', 'task', '"x"', '"detector"'), 'model'],
      [new ModelIntegrityError('model.onnx sha256 differs', 'model.onnx'), 'model'],
      [new ProviderError('cuda unavailable'), 'model'],
      [new BadInputError('no Pixel Data'), 'input'],
      [new PixelDataIntegrityError('truncated'), 'input'],
      [new ImageFileError('a.dcm', 'unreadable'), 'input'],
      [new DatasetError('bad json'), 'input'],
      [new ReportBuildError('no hands'), 'output'],
      [new SrBuildError('no hands'), 'output'],
      [new DimseError('association rejected'), 'peer'],
    ] as const;
    for (const [err, kind] of kinds) {
      expect(err, err.name).toBeInstanceOf(JointscoreError);
      expect((err as JointscoreError).kind, err.name).toBe(kind);
      expect(exitCodeOf(err)).toBe(EXIT_CODES[kind]);
    }
    expect(exitCodeOf(new Error('a bug'))).toBe(1);
    expect(EXIT_CODES).toEqual({ config: 2, model: 3, input: 1, output: 1, peer: 4 });
    expect(operatorMessage('analyze', new ProviderError('cuda unavailable'))).toMatch(/^jointscore analyze: cuda unavailable\n  \(check the models folder/);
    expect(operatorMessage('analyze', new Error('a bug'))).toBe('jointscore analyze: a bug');
  });

  it('a command whose models cannot be used ends with exit code 3, the reason and where to look', async () => {
    const file = join(dir, 'hand.dcm');
    writeFileSync(file, (await makeFixture(FIXTURES.find((f) => f.name === 'hand-left-m2-explicit')!, false)).dicom);
    const r = spawnSync(process.execPath, ['bin/jointscore.js', 'analyze', file, '--models', join(dir, 'no-models'), '--provider', 'cpu'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain('jointscore analyze: ');
    expect(r.stderr).toContain('(check the models folder (analysis.modelsDir)');
  });
});
