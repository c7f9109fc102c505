import { Command } from 'commander';
import { logger } from '../observability/logger.js';
import { TRAINING_DEFAULTS, writeTrainingSet } from '../phantom/training-set.js';
import { OptionError } from '../phantom/options.js';

function int(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new OptionError(name, v, `an integer from ${min} to ${max}`);
    return n;
  };
}

export function registerTrainingSet(program: Command): void {
  program
    .command('training-set')
    .description("Render synthetic radiographs and write the models' training data through the node's own preprocessing")
    .option('--count <n>', 'images', int('count', 1, 1_000_000), 100)
    .option('--seed <s>', 'first seed (image i uses seed + i); keep splits on disjoint seed ranges', int('seed', 0, 2 ** 31 - 1), 1)
    .requiredOption('--out <dir>', 'output folder (one split)')
    .option('--wide', 'pose and exposure ranges wider than training (held-out tests)')
    .option('--detector-size <px>', 'detector input size', int('detector-size', 64, 2048), TRAINING_DEFAULTS.detectorSize)
    .option('--crop-px <px>', 'grader crop size', int('crop-px', 16, 512), TRAINING_DEFAULTS.cropPx)
    .option('--crop-mm-per-px <mm>', 'grader crop scale', (v: string) => Number(v), TRAINING_DEFAULTS.cropMmPerPx)
    .option('--partial <share>', 'share of single-hand images cut to a wrist-only or finger-only film (detector data)', (v: string) => Number(v), 0)
    .action((o: { count: number; seed: number; out: string; wide?: boolean; detectorSize: number; cropPx: number; cropMmPerPx: number; partial: number }) => {
      const log = logger();
      const started = Date.now();
      const result = writeTrainingSet(
        { count: o.count, seed: o.seed, out: o.out, wideRanges: o.wide === true, detectorSize: o.detectorSize, cropPx: o.cropPx, cropMmPerPx: o.cropMmPerPx, partialShare: o.partial },
        (i) => {
          if ((i + 1) % 50 === 0) log.info('training images', { done: i + 1, of: o.count, seconds: (Date.now() - started) / 1000 });
        },
      );
      log.info('training set written', { ...result, out: o.out, seconds: (Date.now() - started) / 1000 });
    });
}
