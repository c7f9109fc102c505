import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerAnalyze } from './analyze.js';
import { registerContactSheet } from './contact-sheet.js';
import { registerEcho } from './echo.js';
import { registerEval } from './eval.js';
import { registerPhantom } from './phantom.js';
import { registerQueue } from './queue.js';
import { registerSend } from './send.js';
import { registerServe } from './serve.js';
import { registerTrainingSet } from './training-set.js';
import { JointscoreError } from '../errors.js';
import { endCommand } from './failure.js';

/** Builds the `jointscore` command tree; each sub-command lives in its own module. */
export function buildProgram(): Command {
  const program = new Command('jointscore')
    .description('Hand radiograph joint detection and arthritis grading as a DICOM node')
    .version(VERSION);
  registerPhantom(program);
  registerContactSheet(program);
  registerTrainingSet(program);
  registerEval(program);
  registerAnalyze(program);
  registerEcho(program);
  registerSend(program);
  registerServe(program);
  registerQueue(program);
  return program;
}

/**
 * Runs a command. jointscore's own errors end it with their message, where to look, and the
 * exit code of their kind (src/errors.ts); anything else is a bug and goes up with its stack.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (!(err instanceof JointscoreError)) throw err;
    endCommand(argv[2] ?? '', err);
  }
}
