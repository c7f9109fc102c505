import { Command } from 'commander';

export function registerPhantom(program: Command): void {
  program
    .command('phantom')
    .description('Render synthetic hand radiographs (DICOM DX) with exact ground truth')
    .option('--count <n>', 'number of images', '1')
    .option('--seed <s>', 'random seed', '1')
    .option('--out <dir>', 'output folder', 'out/phantom')
    .action(() => {
      throw new Error('phantom: not implemented yet');
    });
}
