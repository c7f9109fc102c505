import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { logger } from '../observability/logger.js';
import { FIXTURES, makeFixture } from '../phantom/fixtures.js';
import { makePhantom, type PhantomArtefacts } from '../phantom/generate.js';
import { PHANTOM_SYNTAXES, parsePhantomOptions, specFor } from '../phantom/options.js';

function writeArtefacts(dir: string, a: PhantomArtefacts): void {
  writeFileSync(join(dir, `${a.name}.dcm`), a.dicom);
  if (a.preview) writeFileSync(join(dir, `${a.name}.png`), a.preview);
  writeFileSync(join(dir, `${a.name}.json`), JSON.stringify(a.truth, null, 2) + '\n');
}

export function registerPhantom(program: Command): void {
  program
    .command('phantom')
    .description(
      'Render synthetic hand radiographs as DICOM DX objects, each with a PNG preview and its ground truth (HandAnalysis JSON)',
    )
    .option('--count <n>', 'number of images', '1')
    .option('--seed <s>', 'seed of the first image; image i uses seed + i', '1')
    .option('--out <dir>', 'output folder', 'out/phantom')
    .option('--profile <p>', 'disease profile: healthy, ra, oa, mixed', 'mixed')
    .option('--hands <layout>', 'one hand or both hands on one image: one, both', 'one')
    .option('--laterality <l>', 'L, R or random (single hand)', 'random')
    .option('--rows <n>', "image rows, or 'auto' for a realistic cassette or collimated crop at the spacing", 'auto')
    .option('--columns <n>', "image columns, or 'auto'", 'auto')
    .option('--spacing <mm>', 'pixel spacing in mm (0.1 to 0.2 is typical)', '0.15')
    .option('--photometric <p>', 'MONOCHROME1 or MONOCHROME2', 'MONOCHROME2')
    .option('--bits <n>', 'bits stored, 10 to 16', '12')
    .option('--syntax <ts>', `transfer syntax: ${Object.keys(PHANTOM_SYNTAXES).join(', ')}`, 'explicit')
    .option('--wide', 'pose and exposure ranges wider than the training defaults (held-out tests)')
    .option('--wider', 'wider still (held-out tests of models trained with --wide images too)')
    .option('--any-orientation', 'each film stored turned by a quarter turn (from its seed) and mirrored half the time (held-out orientation tests)')
    .option('--partial', 'each single-hand film cut to a wrist-only or finger-only view (from its seed; held-out partial-view tests)')
    .option('--foot', 'a foot (dorsoplantar) instead of the hand(s): films the node must not read as hands')
    .option('--oblique', 'each hand turned 35-60 degrees about its long axis (from its seed): oblique views the node must not grade as PA')
    .option('--oblique-fanned', 'as --oblique, with the fingers fanned apart as radiographers position an oblique (the palm and carpus turned)')
    .option('--metal', 'a metal wire across two joints of each hand (from the seed), as fixed fractures show them: joints the node must not grade')
    .option('--child', "children's hands (10-14 years, growth plates open; Patient's Age says so too): films the node must not grade")
    .option('--ulnar-drift <deg>', 'the fingers drifted toward the ulna at the MCPs by this many degrees (0-60), as rheumatoid hands drift: PA hands the node must still grade')
    .option('--no-preview', 'skip the PNG previews')
    .option('--fixtures', "write the project's named test fixtures instead (ignores the other image options)")
    .action(async (raw: Record<string, string | boolean>) => {
      const opts = parsePhantomOptions({
        ...raw,
        layout: raw.hands,
        pixelSpacingMm: raw.spacing,
        bitsStored: raw.bits,
        wideRanges: raw.wide === true,
        widerRanges: raw.wider === true,
        anyOrientation: raw.anyOrientation === true,
        partial: raw.partial === true,
        foot: raw.foot === true,
        oblique: raw.oblique === true,
        obliqueFanned: raw.obliqueFanned === true,
        child: raw.child === true,
        metal: raw.metal === true,
        ...(raw.ulnarDrift !== undefined ? { ulnarDriftDeg: raw.ulnarDrift } : {}),
      });
      mkdirSync(opts.out, { recursive: true });
      const log = logger();
      if (raw.fixtures) {
        for (const def of FIXTURES) {
          writeArtefacts(opts.out, await makeFixture(def, opts.preview));
          log.info('fixture written', { name: def.name, what: def.what });
        }
        return;
      }
      const started = Date.now();
      for (let i = 0; i < opts.count; i++) {
        const a = await makePhantom(
          specFor(opts, i),
          { bitsStored: opts.bitsStored, photometric: opts.photometric, transferSyntax: PHANTOM_SYNTAXES[opts.syntax] },
          { preview: opts.preview },
        );
        writeArtefacts(opts.out, a);
        log.info('phantom written', { name: a.name, sopInstanceUID: a.truth.source.sopInstanceUID, n: i + 1, of: opts.count });
      }
      log.info('phantom run done', { count: opts.count, out: opts.out, seconds: (Date.now() - started) / 1000 });
    });
}
