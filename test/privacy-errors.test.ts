import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR } from '../src/cli/analyze.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { readPart10, writePart10 } from '../src/dicom/part10.js';
import { loadModels, type Models } from '../src/inference/models.js';
import { closeLogFile, configureLogger, logger, scrubQuotedValues } from '../src/observability/logger.js';
import { analysisPolicy } from '../src/pipeline/analyse-object.js';
import { analysisVersionOf, Worker } from '../src/pipeline/worker.js';
import { JobQueue } from '../src/store/queue.js';
import { captureLogger } from './helpers/inference.js';
import { withPatientName } from './helpers/dx.js';
import { writeFixtures } from './helpers/node.js';

/**
 * A patient's name must not reach the logs or the queue through a library's error text:
 * dcmjs refuses to write a Patient's Name longer than PN allows and quotes the value.
 */
const NAME = 'SECRETNAME^' + 'Q'.repeat(90);
let work: string;
let models: Models;
let file: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-privacy-'));
  const files = await writeFixtures(join(work, 'in'), ['hand-left-m2-explicit']);
  const { dataset } = readPart10(readFileSync(files['hand-left-m2-explicit']));
  dataset.PatientName = 'PLACEHOLDER';
  file = join(work, 'long-name.dcm');
  writeFileSync(file, withPatientName(writePart10(dataset), NAME));
  models = await loadModels(DEFAULT_MODELS_DIR, { provider: 'cpu' });
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('no patient name through error texts', () => {
  it('cuts the quoted value out of a library message, keeping what says what to fix', () => {
    expect(scrubQuotedValues(`Value exceeds max length, vr: PN, value: ${NAME}, length: 101`)).toBe('Value exceeds max length, vr: PN, value: [redacted], length: 101');
    expect(scrubQuotedValues('no value here')).toBe('no value here');
  });

  it('a too-long name is refused naming the attribute, never the value; nothing logged carries it', async () => {
    const queue = new JobQueue(join(work, 'queue.sqlite'));
    const header = readPart10(readFileSync(file), { untilPixelData: true }).dataset;
    expect(String(header.PatientName)).toContain('SECRETNAME');
    const { job } = queue.enqueue({
      sopInstanceUid: String(header.SOPInstanceUID), modelVersion: analysisVersionOf(models), sopClassUid: String(header.SOPClassUID),
      transferSyntaxUid: '1.2.840.10008.1.2.1', callingAe: 'TEST', spoolPath: file,
    });
    const { log, lines } = captureLogger();
    const worker = new Worker({ queue, models, selection: DEFAULT_CONFIG.selection, policy: analysisPolicy(DEFAULT_CONFIG.analysis), limits: DEFAULT_CONFIG.analysis, destinations: ['folder'], resultsDir: join(work, 'results'), log });
    await worker.processNext();
    const done = queue.get(job.id)!;
    queue.close();
    expect(done.state).toBe('quarantined');
    expect(done.reason).toMatch(/Patient's Name \(0010,0010\) has a value of 101 characters; PN allows 64 per component group/);
    expect(JSON.stringify(done)).not.toContain('SECRETNAME');
    expect(JSON.stringify(lines)).not.toContain('SECRETNAME');
  }, 120_000);

  it('the configured logger scrubs such texts in messages and fields', async () => {
    const dataDir = join(work, 'logdir');
    configureLogger({ level: 'info', file: 'x.log', maxFileMb: 1, maxFiles: 1, includePatientIdentifiers: false }, dataDir);
    logger().error(`failed: Value exceeds max length, vr: PN, value: ${NAME}, length: 101`, { reason: `value: ${NAME}, length: 101` });
    await closeLogFile();
    const text = readFileSync(join(dataDir, 'x.log'), 'utf8');
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('SECRETNAME');
  });
});
