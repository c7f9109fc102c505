import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPart10, writePart10, type NaturalDataset } from '../src/dicom/part10.js';
import { dciodvfy, runTool } from './helpers/dicom-tools.js';
import { runAsync, startStorescpArchive, startTestNode, waitForJobs, writeFixtures, type StorescpArchive, type TestNode } from './helpers/node.js';
import { makePhantom } from '../src/phantom/generate.js';
import { parsePhantomOptions, specFor } from '../src/phantom/options.js';

/**
 * The node as an SCP against DCMTK: echoscu and storescu in, uncompressed and compressed
 * (JPEG-LS, JPEG Lossless, RLE, JPEG 2000, each stored as sent);
 * results out to DCMTK storescp as the archive. Run through scripts/test.sh (loopback-only
 * network namespace), since storescp binds every interface.
 */

const FIXTURE_NAMES = ['hand-left-m2-explicit', 'hands-both-m2-jpegls', 'hand-left-m2-jpeg-lossless', 'hand-left-m2-rle', 'hand-right-m1-j2k', 'chest-not-a-hand'];
/** fixture -> [its transfer syntax, the storescu flag that proposes it] */
const COMPRESSED: Record<string, [string, string]> = {
  'hands-both-m2-jpegls': ['1.2.840.10008.1.2.4.80', '-xt'],
  'hand-left-m2-jpeg-lossless': ['1.2.840.10008.1.2.4.70', '-xs'],
  'hand-left-m2-rle': ['1.2.840.10008.1.2.5', '-xr'],
  'hand-right-m1-j2k': ['1.2.840.10008.1.2.4.90', '-xv'],
};

let work: string;
let files: Record<string, string>;
let storescp: StorescpArchive;
let node: TestNode;

/** what the worker reported disagreeing with the side found, film after film (the metric's events) */
const conflicts: string[] = [];

const peer = (n: TestNode) => ['-aec', n.config.dimse.aeTitle, '127.0.0.1', String(n.node.port)];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'jointscore-node-dcmtk-'));
  files = await writeFixtures(join(work, 'in'), FIXTURE_NAMES);
  storescp = await startStorescpArchive(mkdtempSync(join(work, 'archive-')));
  node = await startTestNode((c) => {
    c.delivery.destinations = [{ name: 'ARCHIVE', aeTitle: 'ARCHIVE', host: '127.0.0.1', port: storescp.port, tls: { enabled: false, requireClientCert: false } }];
  }, { worker: { lateralityConflict: (by) => conflicts.push(by) } });
}, 120_000);

afterAll(async () => {
  await node?.stop();
  storescp?.proc.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('the node as an SCP, DCMTK as the modality, storescp as the archive', () => {
  it('answers C-ECHO from echoscu', async () => {
    const r = await runAsync('echoscu', ['-aet', 'MODALITY', ...peer(node)]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('refuses an association for another called AE title', async () => {
    const r = await runAsync('echoscu', ['-d', '-aet', 'MODALITY', '-aec', 'SOMEONE_ELSE', '127.0.0.1', String(node.node.port)]);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Called AE Title Not Recognized/i);
    expect(node.lines.some((l) => /called AE title "SOMEONE_ELSE" is not this node's/.test(l.message))).toBe(true);
  });

  it('stores every image sent by storescu, compressed ones as they came, and delivers SR, SC and PR for each hand to the archive', async () => {
    const plain = await runAsync('storescu', ['-aet', 'MODALITY', ...peer(node), files['hand-left-m2-explicit'], files['chest-not-a-hand']]);
    expect(plain.status, plain.stderr).toBe(0);
    // each file with the flag that proposes its own syntax first, so the compressed bytes travel as stored
    for (const [name, [, flag]] of Object.entries(COMPRESSED)) {
      const packed = await runAsync('storescu', [flag, '-R', '-aet', 'MODALITY', ...peer(node), files[name]]);
      expect(packed.status, `${name}: ${packed.stderr}`).toBe(0);
    }

    const jobs = await waitForJobs(() => node.node.queue.list(), FIXTURE_NAMES.length, 120_000);
    const bySop = new Map(jobs.map((j) => [j.sopInstanceUid, j]));
    for (const [name, [ts]] of Object.entries(COMPRESSED)) {
      const uid = readPart10(readFileSync(files[name])).dataset.SOPInstanceUID;
      expect(bySop.get(uid)?.transferSyntaxUid, name).toBe(ts);
    }
    const chestUid = readPart10(readFileSync(files['chest-not-a-hand'])).dataset.SOPInstanceUID;
    const chest = bySop.get(chestUid)!;
    expect(chest.state).toBe('skipped');
    expect(chest.reason).toMatch(/^body-part: Body Part Examined \(0018,0015\) "CHEST"/);
    const hands = jobs.filter((j) => j !== chest);
    expect(hands.map((j) => [j.state, j.reason])).toEqual(hands.map(() => ['done', null]));

    // storescp names files by modality prefix: SR, SC (OT?), PR
    const received = readdirSync(storescp.out).map((f) => join(storescp.out, f));
    expect(received).toHaveLength(hands.length * 3);
    const classes = received.map((f) => readPart10(readFileSync(f)).dataset.SOPClassUID).sort();
    expect(new Set(classes)).toEqual(new Set(['1.2.840.10008.5.1.4.1.1.88.34', '1.2.840.10008.5.1.4.1.1.7', '1.2.840.10008.5.1.4.1.1.11.1']));
    for (const f of received.slice(0, 3)) expect(dciodvfy(f).errors, f).toEqual([]);
  }, 180_000);

  it('gives a resent image no second job and no second set of results', async () => {
    const before = node.node.queue.list().length;
    const r = await runAsync('storescu', ['-aet', 'MODALITY', ...peer(node), files['hand-left-m2-explicit']]);
    expect(r.status, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 1500));
    expect(node.node.queue.list()).toHaveLength(before);
    expect(node.lines.some((l) => l.message === 'already received: no new job')).toBe(true);
  });
});

/**
 * The left-hand fixture (or the film `from`) with its header edited and a new SOP Instance UID
 * (`.<suffix>`), sent by storescu; its job once the node has one, and how many results storescp
 * held before.
 */
async function sendEdited(name: string, suffix: number, edit: (ds: NaturalDataset) => void, from = files['hand-left-m2-explicit']) {
  const { meta, dataset } = readPart10(readFileSync(from));
  edit(dataset);
  dataset.SOPInstanceUID = `${dataset.SOPInstanceUID}.${suffix}`;
  const file = join(work, `${name}.dcm`);
  writeFileSync(file, writePart10(dataset, meta.TransferSyntaxUID));
  const before = node.node.queue.list().length;
  const sentBefore = readdirSync(storescp.out).length;
  const r = await runAsync('storescu', ['-aet', 'MODALITY', ...peer(node), file]);
  expect(r.status, r.stderr).toBe(0);
  const jobs = await waitForJobs(() => node.node.queue.list(), before + 1, 120_000);
  const job = jobs.find((j) => j.sopInstanceUid === dataset.SOPInstanceUID);
  expect(job, `a job for ${name}`).toBeDefined();
  return { job: job!, sentBefore };
}

/** Nothing more reached the archive (given half a second to arrive). */
async function expectNothingSent(sentBefore: number): Promise<void> {
  await new Promise((res) => setTimeout(res, 500));
  expect(readdirSync(storescp.out)).toHaveLength(sentBefore);
}

/** The fixture edited by `edit` and sent by storescu: its job skipped with `reason`, nothing sent for it. */
async function expectSkipped(name: string, suffix: number, edit: (ds: NaturalDataset) => void, reason: string | RegExp): Promise<void> {
  const { job, sentBefore } = await sendEdited(name, suffix, edit);
  expect(job.state).toBe('skipped');
  if (typeof reason === 'string') expect(job.reason).toBe(reason);
  else expect(job.reason).toMatch(reason);
  await expectNothingSent(sentBefore);
}

describe('laterality', () => {
  it('delivers the results of a left hand labelled R, and says so in the job, the log and the conflicts counted', async () => {
    const before = conflicts.length;
    const { job } = await sendEdited('relabelled', 9, (ds) => {
      ds.ImageLaterality = 'R';
    });
    expect(conflicts.slice(before)).toEqual(['header']);
    expect(job.state).toBe('done');
    expect(job.reason).toMatch(/^laterality conflict: the image is labelled R .* but the models found L/);
    expect(node.lines.some((l) => l.level === 'warn' && l.message.startsWith('laterality conflict'))).toBe(true);
  }, 180_000);

  it("delivers the results of a left hand stored mirrored, and says that its lead marker reads mirrored", async () => {
    // the fixture's pixels flipped left to right, as an archive that stores films mirrored sends them
    const before = conflicts.length;
    const { job } = await sendEdited('mirrored', 10, (ds) => {
      const [rows, columns] = [Number(ds.Rows), Number(ds.Columns)];
      const px = new Uint16Array((ds.PixelData as ArrayBuffer[])[0].slice(0));
      for (let y = 0; y < rows; y++) px.subarray(y * columns, (y + 1) * columns).reverse();
      ds.PixelData = [px.buffer];
    });
    expect(job.state).toBe('done');
    expect(job.reason).toMatch(/^laterality conflict: the image is labelled L .* but the models found R.*; laterality check: The film's lead marker L reads mirrored/);
    expect(node.lines.some((l) => l.level === 'warn' && /laterality check: The film's lead marker L reads mirrored/.test(l.message))).toBe(true);
    expect(conflicts.slice(before)).toEqual(['header', 'marker']);
  }, 180_000);
});

describe("the header's declared view", () => {
  // each: the fixture's header edited, sent by storescu, skipped with the reason, nothing sent for it
  it.each<[string, string, number, (ds: NaturalDataset) => void, string | RegExp]>([
    ['skips a hand film its modality labels lateral, naming the attribute, and sends nothing for it', 'lateral', 8, (ds) => {
      ds.ViewPosition = 'LL';
      ds.ViewCodeSequence = [{ CodeValue: 'L', CodingSchemeDesignator: '99LOCAL', CodeMeaning: 'lateral' }];
    }, 'declared-view: View Position (0018,5101) "LL" and View Code Sequence (0054,0220) "lateral" declare a lateral view: the scores are defined on PA and AP hand views (selection.skipDeclaredViews [lateral, oblique])'],
    ['skips a hand film whose series description alone names an oblique view, quoting the word only', 'oblique', 6, (ds) => {
      delete ds.ViewPosition;
      delete ds.ViewCodeSequence;
      ds.SeriesDescription = 'L HAND OBL';
    }, 'declared-view: the word "OBL" in Series Description (0008,103E) declares an oblique view: the scores are defined on PA and AP hand views (selection.skipDeclaredViews [lateral, oblique])'],
    ['skips a raw detector image (DX For Processing), naming the SOP Class and the setting, and sends nothing for it', 'for-processing', 5, (ds) => {
      ds.SOPClassUID = '1.2.840.10008.5.1.4.1.1.1.1.1';
      ds.PresentationIntentType = 'FOR PROCESSING';
    }, /^for-processing: SOP Class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.1\.1\.1 \(Digital X-Ray Image Storage - For Processing\): raw detector data/],
    ['skips a copy made from another image (an overlay naming its source film), and sends nothing for it', 'derived-copy', 2, (ds) => {
      ds.ImageType = ['DERIVED', 'SECONDARY'];
      ds.SourceImageSequence = [{ ReferencedSOPClassUID: ds.SOPClassUID, ReferencedSOPInstanceUID: ds.SOPInstanceUID }];
    }, /^derived-copy: Image Type \(0008,0008\) "DERIVED\\SECONDARY" with a Source Image Sequence \(0008,2112\) naming [0-9.]+: a copy made from another image; its source is the one analysed/],
    ['skips a film with no body part whose series description names the feet, quoting the word, and sends nothing for it', 'feet', 4, (ds) => {
      delete ds.BodyPartExamined;
      ds.SeriesDescription = 'BOTH FEET DP';
    }, 'declared-body-part: the word "FEET" in Series Description (0008,103E) names a body part other than the hand, and no description names a hand (selection.skipDeclaredBodyParts)'],
    ['skips a film its protocol says was taken through a cast, naming the attribute and the word, and sends nothing for it', 'cast', 7, (ds) => {
      ds.ProtocolName = 'WRIST IN PLASTER';
    }, 'declared-cast: Protocol Name (0018,1030) names a cast ("PLASTER"): joints under a cast are not graded (selection.skipDeclaredCasts)'],
  ])('%s', (_title, name, suffix, edit, reason) => expectSkipped(name, suffix, edit, reason), 180_000);
});

describe('a film stored as JPEG Extended (12-bit lossy), as some archives hold CR', () => {
  it('sent by storescu as stored (-xx): kept as it came, decoded, results delivered', async () => {
    const { meta, dataset } = readPart10(readFileSync(files['hand-left-m2-explicit']));
    dataset.SOPInstanceUID = `${dataset.SOPInstanceUID}.51`;
    const plain = join(work, 'extended-plain.dcm');
    writeFileSync(plain, writePart10(dataset, meta.TransferSyntaxUID));
    const packed = join(work, 'extended.dcm');
    const made = runTool('dcmcjpeg', ['+ee', plain, packed]);
    expect(made.status, made.stderr).toBe(0);
    const uid = readPart10(readFileSync(packed)).dataset.SOPInstanceUID;
    const before = node.node.queue.list().length;
    const sentBefore = readdirSync(storescp.out).length;
    const r = await runAsync('storescu', ['-xx', '-R', '-aet', 'MODALITY', ...peer(node), packed]);
    expect(r.status, r.stderr).toBe(0);
    const jobs = await waitForJobs(() => node.node.queue.list(), before + 1, 120_000);
    const job = jobs.find((j) => j.sopInstanceUid === uid)!;
    expect([job.state, job.reason, job.transferSyntaxUid]).toEqual(['done', null, '1.2.840.10008.1.2.4.51']);
    await new Promise((res) => setTimeout(res, 500));
    expect(readdirSync(storescp.out)).toHaveLength(sentBefore + 3);
  }, 180_000);
});

describe('a grey film stored in colour', () => {
  it('a Secondary Capture in RGB sent by storescu: analysed as the grey film, SR and overlay delivered, no presentation state', async () => {
    const { job, sentBefore } = await sendEdited('rgb', 3, (ds) => {
      const px = new Uint16Array((ds.PixelData as ArrayBuffer[])[0].slice(0));
      const shift = Number(ds.BitsStored) - 8;
      const rgb = new Uint8Array(3 * px.length);
      for (let i = 0; i < px.length; i++) rgb.fill(px[i] >> shift, 3 * i, 3 * i + 3);
      delete ds.PixelPaddingValue;
      Object.assign(ds, {
        SOPClassUID: '1.2.840.10008.5.1.4.1.1.7', SamplesPerPixel: 3, PhotometricInterpretation: 'RGB', PlanarConfiguration: 0,
        BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelData: [rgb.buffer], _vrMap: { ...(ds._vrMap ?? {}), PixelData: 'OB' },
      });
    });
    expect([job.state, job.reason]).toEqual(['done', null]);
    await new Promise((res) => setTimeout(res, 500));
    const sent = readdirSync(storescp.out).map((f) => join(storescp.out, f)).filter((f) => {
      const ds = readPart10(readFileSync(f)).dataset;
      return JSON.stringify(ds).includes(job.sopInstanceUid);
    });
    expect(sent.map((f) => readPart10(readFileSync(f)).dataset.SOPClassUID).sort()).toEqual(['1.2.840.10008.5.1.4.1.1.7', '1.2.840.10008.5.1.4.1.1.88.34']);
    expect(readdirSync(storescp.out)).toHaveLength(sentBefore + 2);
    for (const f of sent) expect(dciodvfy(f).errors, f).toEqual([]);
    expect(node.lines.some((l) => /"RGB" with three samples holds a grey film/.test(l.message))).toBe(true);
  }, 180_000);
});

describe('a finger film named by its header', () => {
  it('a phantom little finger, "PA LITTLE FINGER" in its Series Description, sent by storescu: its three joints graded, SR (dsrdump), overlay and presentation state delivered', async () => {
    // a held-out partial-view phantom showing one little finger (test/finger-film.test.ts), no hand to the detectors
    const { dicom } = await makePhantom(specFor(parsePhantomOptions({ seed: '9100019', partial: true, wideRanges: true }), 0), {}, { preview: false });
    const from = join(work, 'finger.dcm');
    writeFileSync(from, dicom);
    const { job, sentBefore } = await sendEdited('finger-named', 4, (ds) => Object.assign(ds, { SeriesDescription: 'PA LITTLE FINGER', BodyPartExamined: 'FINGER' }), from);
    expect([job.state, job.reason]).toEqual(['done', null]);
    await new Promise((res) => setTimeout(res, 500));
    const sent = readdirSync(storescp.out).map((f) => join(storescp.out, f)).filter((f) => JSON.stringify(readPart10(readFileSync(f)).dataset).includes(job.sopInstanceUid));
    expect(sent).toHaveLength(3);
    expect(readdirSync(storescp.out)).toHaveLength(sentBefore + 3);
    for (const f of sent) expect(dciodvfy(f).errors, f).toEqual([]);
    const sr = sent.find((f) => readPart10(readFileSync(f)).dataset.SOPClassUID === '1.2.840.10008.5.1.4.1.1.88.34')!;
    const dump = runTool('dsrdump', ['+Pl', sr]);
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toContain('Right hand read as a finger film: which finger, and whose, as the word "LITTLE" in Series Description (0008,103E) and Image Laterality (0020,0062) "R" names them');
    for (const site of ['R-DIP5', 'R-PIP5', 'R-MCP5']) expect(dump.stdout).toContain(site);
  }, 180_000);
});

describe('peer checks', () => {
  let strict: TestNode;
  beforeAll(async () => {
    strict = await startTestNode((c) => {
      c.dimse.aeTitle = 'STRICT';
      c.dimse.allowUnknownPeers = false;
      c.dimse.allowLoopbackPeers = false;
      c.dimse.allowedPeers = [{ aeTitle: 'PACS', host: '127.0.0.1' }];
    });
  });
  afterAll(async () => strict?.stop());

  it('rejects an unknown calling AE title and accepts a listed one', async () => {
    const bad = await runAsync('echoscu', ['-d', '-aet', 'STRANGER', '-aec', 'STRICT', '127.0.0.1', String(strict.node.port)]);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/Calling AE Title Not Recognized/i);
    const good = await runAsync('echoscu', ['-aet', 'PACS', '-aec', 'STRICT', '127.0.0.1', String(strict.node.port)]);
    expect(good.status, good.stderr).toBe(0);
  });
});
