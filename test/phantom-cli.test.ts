import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import { JOINT_SITES } from '../src/analysis/joints.js';
import { buildProgram } from '../src/cli/main.js';
import { readPart10 } from '../src/dicom/part10.js';
import { FIXTURES } from '../src/phantom/fixtures.js';
import { OptionError, parsePhantomOptions } from '../src/phantom/options.js';
import { DCMDUMP_SYNTAX_NAMES, dciodvfy, runTool } from './helpers/dicom-tools.js';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function phantom(args: string[]): Promise<void> {
  await buildProgram().exitOverride().parseAsync(['node', 'jointscore', 'phantom', ...args]);
}

describe('jointscore phantom', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'js-phantom-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const small = ['--rows', '1024', '--columns', '832', '--spacing', '0.25'];

  it('writes a DICOM object, a preview and the ground truth per image', async () => {
    const out = join(dir, 'a');
    await phantom(['--count', '2', '--seed', '40', '--out', out, ...small]);
    expect(readdirSync(out).sort()).toEqual([
      'phantom-000040.dcm', 'phantom-000040.json', 'phantom-000040.png',
      'phantom-000041.dcm', 'phantom-000041.json', 'phantom-000041.png',
    ]);
    const truth = JSON.parse(readFileSync(join(out, 'phantom-000040.json'), 'utf8')) as HandAnalysis;
    const { dataset } = readPart10(readFileSync(join(out, 'phantom-000040.dcm')));
    expect(truth.source.sopInstanceUID).toBe(dataset.SOPInstanceUID);
    expect(truth.source.rows).toBe(dataset.Rows);
    expect(truth.hands).toHaveLength(1);
    expect(truth.hands[0].joints.map((j) => j.site).sort()).toEqual([...JOINT_SITES].sort());
    expect(dataset.ImageLaterality).toBe(truth.hands[0].laterality);
  });

  it('same seed, same bytes; different seeds, different hands', async () => {
    const a = join(dir, 'same1');
    const b = join(dir, 'same2');
    await phantom(['--count', '2', '--seed', '40', '--out', a, ...small]);
    await phantom(['--count', '1', '--seed', '40', '--out', b, ...small]);
    for (const ext of ['dcm', 'json', 'png']) {
      expect(sha(join(a, `phantom-000040.${ext}`))).toBe(sha(join(b, `phantom-000040.${ext}`)));
    }
    const t40 = JSON.parse(readFileSync(join(a, 'phantom-000040.json'), 'utf8')) as HandAnalysis;
    const t41 = JSON.parse(readFileSync(join(a, 'phantom-000041.json'), 'utf8')) as HandAnalysis;
    expect(t41.hands[0].joints[0].x).not.toBe(t40.hands[0].joints[0].x);
    expect(sha(join(a, 'phantom-000041.dcm'))).not.toBe(sha(join(a, 'phantom-000040.dcm')));
  });

  it('rejects a bad option with the option, the value and what is allowed', () => {
    expect(() => parsePhantomOptions({ bitsStored: '8' })).toThrow(OptionError);
    expect(() => parsePhantomOptions({ bitsStored: '8' })).toThrow('--bits "8": expected an integer from 10 to 16');
    expect(() => parsePhantomOptions({ syntax: 'jpeg' })).toThrow(/--syntax "jpeg": expected one of explicit, jpeg-lossless/);
    expect(() => parsePhantomOptions({ profile: 'gout' })).toThrow(/--profile/);
  });
});

describe('phantom fixtures', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'js-fixtures-'));
    await phantom(['--fixtures', '--out', dir, '--no-preview']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('cover both photometric interpretations, both hands, every compressed syntax and a non-hand', () => {
    const syntaxes = new Set(FIXTURES.map((f) => f.encoding.transferSyntax));
    expect(syntaxes.size).toBe(5);
    expect(new Set(FIXTURES.map((f) => f.encoding.photometric))).toEqual(new Set(['MONOCHROME1', 'MONOCHROME2']));
    expect(FIXTURES.some((f) => f.spec.layout === 'both')).toBe(true);
    expect(FIXTURES.some((f) => f.notAHand)).toBe(true);
  });

  for (const def of FIXTURES) {
    it(`${def.name}: dciodvfy finds no error, dcmdump reads it`, () => {
      const file = join(dir, `${def.name}.dcm`);
      const verdict = dciodvfy(file);
      expect(verdict.errors, verdict.output).toEqual([]);
      const dump = runTool('dcmdump', ['-q', file]);
      expect(dump.status, dump.stderr).toBe(0);
      expect(dump.stdout).toContain(`=${DCMDUMP_SYNTAX_NAMES[def.encoding.transferSyntax!]}`);
      expect(dump.stdout).toContain('(7fe0,0010)');
      const truth = JSON.parse(readFileSync(join(dir, `${def.name}.json`), 'utf8')) as HandAnalysis;
      expect(truth.hands.length).toBe(def.notAHand ? 0 : def.spec.layout === 'both' ? 2 : 1);
      const { dataset } = readPart10(readFileSync(file));
      expect(dataset.BodyPartExamined).toBe(def.notAHand ? 'CHEST' : 'HAND');
    });
  }
});
