import { Command, InvalidArgumentError } from 'commander';
import { makeContactSheet } from '../phantom/contact-sheet.js';
import { logger } from '../observability/logger.js';

function positiveInt(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

/**
 * `jointscore contact-sheet`: phantom previews beside real radiographs with their
 * intensity histograms, in one PNG small enough to commit under docs/.
 */
export function registerContactSheet(program: Command): void {
  program
    .command('contact-sheet')
    .description(
      'Lay out phantom previews (PNG) beside real radiographs (PNG/JPEG) with their intensity histograms, to judge realism at a glance',
    )
    .requiredOption('--phantoms <dir>', 'folder of phantom preview PNGs')
    .requiredOption('--real <dir>', 'folder of real radiographs (PNG or JPEG; converted to grey)')
    .requiredOption('--out <file.png>', 'output PNG')
    .option('--count <n>', 'most images per group, spread evenly over the sorted files', positiveInt('--count', 1, 64), 6)
    .option('--tile <px>', 'tile width in pixels (tiles are 1.25 times as tall)', positiveInt('--tile', 64, 2048), 320)
    .option('--no-real-pictures', "draw the real films' histograms but not the films (for a sheet to publish or commit)")
    .option('--per-row <n>', 'tiles per row (default: the larger group, at most 6)', positiveInt('--per-row', 1, 64))
    .action(async (opts: { phantoms: string; real: string; out: string; count: number; tile: number; perRow?: number; realPictures: boolean }) => {
      const sheet = await makeContactSheet({
        phantomsDir: opts.phantoms,
        realDir: opts.real,
        outFile: opts.out,
        count: opts.count,
        tile: opts.tile,
        perRow: opts.perRow,
        realPictures: opts.realPictures,
      });
      const kB = Math.round(sheet.png.length / 1024);
      logger().info('contact sheet written', {
        out: sheet.outFile,
        width: sheet.width,
        height: sheet.height,
        kB,
        synthetic: sheet.synthetic.length,
        real: sheet.real.length,
        meanOverlap: Number(sheet.meanOverlap.toFixed(3)),
      });
      if (sheet.png.length > 500 * 1024) {
        logger().warn('contact sheet is large for committing; try a smaller --tile or --count', { out: sheet.outFile, kB });
      }
      process.stdout.write(`${sheet.outFile}\n`);
    });
}
