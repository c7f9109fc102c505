import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { loadConfig } from '../src/config/load.js';
import type { SelectionConfig } from '../src/config/types.js';
import { encodeFileMeta } from '../src/dicom/file-meta.js';
import { isValidUid } from '../src/dicom/uid.js';
import { decideAssociation, decideContext } from '../src/dimse/negotiation.js';
import { select } from '../src/pipeline/select.js';
import { bodyPartOfText, declaredView, labelledSide, viewOfText } from '../src/pipeline/declared.js';
import { checkLaterality } from '../src/analysis/laterality.js';
import type { HandAnalysis } from '../src/analysis/hand-analysis.js';
import { readPart10, type NaturalDataset } from '../src/dicom/part10.js';
import { runTool } from './helpers/dicom-tools.js';

const DX = '1.2.840.10008.5.1.4.1.1.1.1';
const hand = { SOPClassUID: DX, Modality: 'DX', BodyPartExamined: 'HAND', SeriesDescription: 'Hand PA', ImageLaterality: 'L' };
const rules = (patch: Partial<SelectionConfig> = {}): SelectionConfig => ({ ...DEFAULT_CONFIG.selection, ...patch });
/** Each of `said` over `base` is skipped by `rule` under the defaults. */
const skippedBy = (rule: string, base: object, said: object[]) => {
  for (const s of said) expect(select({ ...base, ...s }, rules()), JSON.stringify(s)).toMatchObject({ analyse: false, rule });
};

describe('selection rules', () => {
  it('analyses a DX hand under the defaults', () => {
    expect(select(hand, rules())).toEqual({ analyse: true });
    // the phantom names itself otherwise: it is analysed as any image is
    expect(select({ ...hand, Manufacturer: 'jointscore phantom', ManufacturerModelName: 'jointscore synthetic hand radiograph' }, rules())).toEqual({ analyse: true });
  });

  it.each([
    [{ ...hand, BodyPartExamined: 'CHEST' }, rules(), 'body-part'],
    [{ ...hand, Modality: 'CT' }, rules(), 'modality'],
    [{ ...hand, SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.34' }, rules(), 'sop-class'],
    [{ ...hand, Manufacturer: 'jointscore', ManufacturerModelName: 'jointscore', SeriesNumber: 9101 }, rules(), 'own-output'],
    [{ ...hand, SeriesDescription: 'HAND SCOUT' }, rules({ seriesDescriptionExclude: ['scout'] }), 'series-description'],
    [{ ...hand, ImageLaterality: 'R' }, rules({ lateralities: ['L'] }), 'laterality'],
    [{ ...hand, ImageLaterality: 'U', Laterality: 'R' }, rules({ lateralities: ['L'] }), 'laterality'],
    [{ ...hand, ImageLaterality: 'U' }, rules({ lateralities: ['L', 'R'] }), 'laterality'],
    [{ ...hand, BodyPartExamined: '' }, rules({ allowMissingBodyPart: false }), 'body-part'],
    [{ ...hand, SOPClassUID: '1.2.840.10008.5.1.4.1.1.1' }, rules({ sopClasses: [DX] }), 'sop-class'],
  ])('skips %# with the rule that refused it', (ds, c, rule) => {
    const s = select(ds, c);
    expect(s.analyse).toBe(false);
    if (!s.analyse) expect(s.rule).toBe(rule);
  });

  it("selects by the series' Laterality where Image Laterality is U, and says which attribute refused", () => {
    expect(select({ ...hand, ImageLaterality: 'U', Laterality: 'L' }, rules({ lateralities: ['L'] }))).toEqual({ analyse: true });
    const refused = select({ ...hand, ImageLaterality: 'U', Laterality: 'R' }, rules({ lateralities: ['L'] }));
    expect(refused).toMatchObject({ analyse: false, reason: 'Laterality (0020,0060) "R" is not in selection.lateralities [L]' });
  });

  it('skips a film whose descriptions name another body part and no hand, where Body Part Examined names no hand part; false reads it', () => {
    const film = { SOPClassUID: DX, Modality: 'DX' };
    expect(select({ ...film, SeriesDescription: 'FEET DP' }, rules())).toEqual({
      analyse: false,
      rule: 'declared-body-part',
      reason: 'the word "FEET" in Series Description (0008,103E) names a body part other than the hand, and no description names a hand (selection.skipDeclaredBodyParts)',
    });
    skippedBy('declared-body-part', film, [{ ProtocolName: 'Fuß dp beidseits' }, { SeriesDescription: 'Pieds face' }, { AcquisitionDeviceProcessingDescription: 'FOREFOOT' }, { SeriesDescription: 'Voeten AP' }, { SeriesDescription: 'Elbow lat' }]);
    // a generic code a site lets through is no hand part either
    expect(select({ ...film, BodyPartExamined: 'EXTREMITY', SeriesDescription: 'Both feet' }, rules({ bodyParts: ['HAND', 'EXTREMITY'] }))).toMatchObject({ rule: 'declared-body-part' });
    // a hand named anywhere, or a hand part as Body Part Examined, and the pixels decide
    for (const said of [{ SeriesDescription: 'Hands and feet' }, { SeriesDescription: 'FINGER/TOE' }, { ProtocolName: 'Hand PA', SeriesDescription: 'RA feet' }, { SeriesDescription: 'RA survey' }, { BodyPartExamined: 'HAND', SeriesDescription: 'FEET' }]) {
      expect(select({ ...film, ...said }, rules())).toEqual({ analyse: true });
    }
    expect(select({ ...film, SeriesDescription: 'FEET DP' }, rules({ skipDeclaredBodyParts: false }))).toEqual({ analyse: true });
    // a site that reads every body part reads these too
    expect(select({ ...film, SeriesDescription: 'FEET DP' }, rules({ bodyParts: [] }))).toEqual({ analyse: true });
    expect(bodyPartOfText('Füße beidseits')).toEqual({ hand: false, other: 'Füße' });
    expect(bodyPartOfText('Handgelenk')).toEqual({ hand: true });
  });

  it('skips a copy made from another image (DERIVED\\SECONDARY naming its source), reads a processed original; false reads both', () => {
    const source = [{ ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1', ReferencedSOPInstanceUID: '1.2.826.0.1.3680043.10.1443.9.1' }];
    const copy = { ...hand, ImageType: ['DERIVED', 'SECONDARY'], SourceImageSequence: source };
    expect(select(copy, rules())).toEqual({
      analyse: false,
      rule: 'derived-copy',
      reason: 'Image Type (0008,0008) "DERIVED\\SECONDARY" with a Source Image Sequence (0008,2112) naming 1.2.826.0.1.3680043.10.1443.9.1: a copy made from another image; its source is the one analysed (selection.skipDerivedCopies)',
    });
    // as a backslash string, any case
    expect(select({ ...copy, ImageType: 'derived\\secondary\\other' }, rules())).toMatchObject({ analyse: false, rule: 'derived-copy' });
    // a modality's processed film, a secondary capture naming no source (a CD import): originals
    expect(select({ ...copy, ImageType: ['DERIVED', 'PRIMARY'] }, rules())).toEqual({ analyse: true });
    expect(select({ ...hand, ImageType: ['DERIVED', 'SECONDARY'] }, rules())).toEqual({ analyse: true });
    expect(select({ ...copy, SourceImageSequence: [] }, rules())).toEqual({ analyse: true });
    expect(select(copy, rules({ skipDerivedCopies: false }))).toEqual({ analyse: true });
  });

  it("skips a raw detector image (DX For Processing) by its SOP Class or its Presentation Intent Type; false reads it", () => {
    const raw = { ...hand, SOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1.1', PresentationIntentType: 'FOR PROCESSING' };
    expect(select(raw, rules())).toEqual({
      analyse: false,
      rule: 'for-processing',
      reason: "SOP Class 1.2.840.10008.5.1.4.1.1.1.1.1 (Digital X-Ray Image Storage - For Processing): raw detector data, before the modality's image processing; its For Presentation image is the one analysed (selection.skipForProcessing)",
    });
    expect(select({ ...hand, PresentationIntentType: 'for processing' }, rules())).toMatchObject({ analyse: false, rule: 'for-processing', reason: expect.stringMatching(/^Presentation Intent Type \(0008,0068\) "FOR PROCESSING"/) });
    expect(select({ ...hand, PresentationIntentType: 'FOR PRESENTATION' }, rules())).toEqual({ analyse: true });
    expect(select(raw, rules({ skipForProcessing: false }))).toEqual({ analyse: true });
  });

  it('names the attribute, the value and the setting in the reason', () => {
    const s = select({ ...hand, BodyPartExamined: 'KNEE' }, rules());
    expect(s).toEqual({
      analyse: false,
      rule: 'body-part',
      reason: 'Body Part Examined (0018,0015) "KNEE" is not in selection.bodyParts [HAND, FINGER, WRIST]',
    });
  });

  it('matches codes without regard to case and accepts a missing body part by default', () => {
    expect(select({ ...hand, BodyPartExamined: 'hand', Modality: 'cr', SOPClassUID: '1.2.840.10008.5.1.4.1.1.1' }, rules())).toEqual({ analyse: true });
    expect(select({ ...hand, BodyPartExamined: undefined }, rules())).toEqual({ analyse: true });
  });
});

describe("the header's declared view", () => {
  const code = (CodeMeaning: string) => [{ CodeValue: 'x', CodingSchemeDesignator: '99LOCAL', CodeMeaning }];
  it('reads View Position and the View Code Sequence, oblique before lateral', () => {
    expect(declaredView({ ViewPosition: 'PA' })).toEqual({ view: 'frontal', says: 'View Position (0018,5101) "PA"' });
    expect(declaredView({ ViewPosition: 'll' })?.view).toBe('lateral');
    expect(declaredView({ ViewPosition: 'RLO' })?.view).toBe('oblique');
    expect(declaredView({ ViewPosition: 'PA OBL' })?.view).toBe('oblique');
    expect(declaredView({ ViewPosition: 'PLATE' })).toBeUndefined();
    expect(declaredView({ ViewCodeSequence: code('left lateral oblique') })).toEqual({ view: 'oblique', says: 'View Code Sequence (0054,0220) "left lateral oblique"' });
    expect(declaredView({ ViewCodeSequence: code('medio-lateral') })?.view).toBe('lateral');
    expect(declaredView({ ViewCodeSequence: code('postero-anterior') })?.view).toBe('frontal');
    // spelt without hyphens, or as the initials, as local codes do
    expect(declaredView({ ViewCodeSequence: code('Dorsopalmar') })?.view).toBe('frontal');
    expect(declaredView({ ViewCodeSequence: code('PA') })?.view).toBe('frontal');
    expect(declaredView({ ViewCodeSequence: code('mediolateral') })?.view).toBe('lateral');
    expect(declaredView({ ViewPosition: 'LL', ViewCodeSequence: code('dorsopalmar') })).toBeUndefined();
    // one item naturalised as an object, not an array
    expect(declaredView({ ViewCodeSequence: code('oblique')[0] })?.view).toBe('oblique');
  });

  it('declares nothing where the header is silent or contradicts itself', () => {
    expect(declaredView({})).toBeUndefined();
    expect(declaredView({ ViewPosition: '', ViewCodeSequence: [] })).toBeUndefined();
    expect(declaredView({ ViewPosition: 'RLD' })).toBeUndefined();
    expect(declaredView({ ViewPosition: 'PA', ViewCodeSequence: code('oblique') })).toBeUndefined();
    expect(declaredView({ ViewPosition: 'LL', ViewCodeSequence: code('lateral') })).toEqual({
      view: 'lateral',
      says: 'View Position (0018,5101) "LL" and View Code Sequence (0054,0220) "lateral"',
    });
  });

  it('skips a declared lateral or oblique view by default, naming the attribute and the setting; [] leaves it to the pixels', () => {
    expect(select({ ...hand, ViewPosition: 'PA' }, rules())).toEqual({ analyse: true });
    expect(select({ ...hand, ViewPosition: 'LL' }, rules())).toEqual({
      analyse: false,
      rule: 'declared-view',
      reason: 'View Position (0018,5101) "LL" declares a lateral view: the scores are defined on PA and AP hand views (selection.skipDeclaredViews [lateral, oblique])',
    });
    expect(select({ ...hand, ViewCodeSequence: code('oblique') }, rules())).toMatchObject({ analyse: false, rule: 'declared-view' });
    expect(select({ ...hand, ViewCodeSequence: code('oblique') }, rules({ skipDeclaredViews: ['lateral'] }))).toEqual({ analyse: true });
    expect(select({ ...hand, ViewPosition: 'LL' }, rules({ skipDeclaredViews: [] }))).toEqual({ analyse: true });
  });

  it('reads the free texts where View Position and the View Code Sequence are silent: one kind of view named, not the views of a series', () => {
    expect(declaredView({ SeriesDescription: 'L Hand Obl' })).toEqual({ view: 'oblique', says: 'the word "Obl" in Series Description (0008,103E)' });
    // one kind of view named; the Nørgaard (ball-catcher) view is oblique whatever else its name says
    for (const said of ['Hand schräg', 'Nørgaard view', 'Ball-catcher view', 'Mano oblicua', 'Mão oblíqua', 'AP oblique (ballcatcher)']) expect(viewOfText(said)?.view).toBe('oblique');
    for (const said of ['Hand Lat', 'Handgelenk seitlich', 'Poignet profil']) expect(viewOfText(said)?.view).toBe('lateral');
    for (const said of ['Hand PA', 'Hand P.A.', 'Main face', 'X-ray hand AP', 'Bilateral hands DP']) expect(viewOfText(said)?.view).toBe('frontal');
    // views of two kinds name the series' views ("PA OBL", "AP LAT"), not this image's
    for (const said of ['Hand PA/OBL', 'HAND PA OBL', 'Hand PA oblique', 'HAND AP LAT', 'Hand PA + lat', 'Main face et profil', 'Lateral and oblique', 'Hand 3 views', 'LT HAND', '']) expect(viewOfText(said)).toBeUndefined();
    expect(declaredView({ AcquisitionDeviceProcessingDescription: 'HAND OBL', SeriesDescription: 'Hand' })?.says).toBe('the word "OBL" in Acquisition Device Processing Description (0018,1400)');
    // the coded attributes, per image, come first; texts that contradict each other say nothing
    expect(declaredView({ ViewPosition: 'PA', SeriesDescription: 'Hand obl' })?.view).toBe('frontal');
    expect(declaredView({ ProtocolName: 'HAND OBLIQUE', SeriesDescription: 'Hand PA' })).toBeUndefined();
    expect(select({ ...hand, SeriesDescription: 'Hand oblique' }, rules())).toEqual({
      analyse: false,
      rule: 'declared-view',
      reason: 'the word "oblique" in Series Description (0008,103E) declares an oblique view: the scores are defined on PA and AP hand views (selection.skipDeclaredViews [lateral, oblique])',
    });
    expect(select({ ...hand, SeriesDescription: 'Hand oblique' }, rules({ skipDeclaredViews: [] }))).toEqual({ analyse: true });
  });

  it('skips a film its descriptions say was taken through a cast, naming the attribute and the word; false reads it', () => {
    expect(select({ ...hand, SeriesDescription: 'L WRIST IN POP' }, rules())).toEqual({
      analyse: false,
      rule: 'declared-cast',
      reason: 'Series Description (0008,103E) names a cast ("POP"): joints under a cast are not graded (selection.skipDeclaredCasts)',
    });
    skippedBy('declared-cast', hand, [{ ProtocolName: 'Handgelenk im Gips' }, { StudyDescription: 'Poignet sous plâtre' }, { SeriesDescription: 'wrist, fibreglass cast' }, { SeriesDescription: 'Mano con yeso' }, { SeriesDescription: 'Hand P.O.P. check' }]);
    // words that only contain a cast's name, and the usual descriptions, pass
    for (const SeriesDescription of ['Hand PA', 'Broadcast hand', 'Popliteal', 'Hands both PA', 'Forecast']) {
      expect(select({ ...hand, SeriesDescription }, rules())).toEqual({ analyse: true });
    }
    expect(select({ ...hand, SeriesDescription: 'WRIST IN PLASTER' }, rules({ skipDeclaredCasts: false }))).toEqual({ analyse: true });
  });

  it('is read from the YAML, and refuses a view it does not know', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jointscore-views-'));
    try {
      const file = join(dir, 'c.yaml');
      writeFileSync(file, 'selection:\n  skipDeclaredViews: [Oblique]\n');
      expect(loadConfig({ file, env: {} }).selection.skipDeclaredViews).toEqual(['oblique']);
      writeFileSync(file, 'selection:\n  skipDeclaredViews: [axial]\n');
      expect(() => loadConfig({ file, env: {} })).toThrow(/skipDeclaredViews/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('patient age', () => {
  const adult = { SOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1', Modality: 'DX', BodyPartExamined: 'HAND' };
  it("skips a child's hand by Patient's Age or by birth and study dates, naming the setting; unknown age passes", () => {
    const c = { ...DEFAULT_CONFIG.selection, minPatientAgeYears: 18 };
    expect(select({ ...adult, PatientAge: '012Y' }, DEFAULT_CONFIG.selection)).toEqual({ analyse: true }); // off by default: analysis.minGradingAgeYears reports it
    expect(select({ ...adult, PatientAge: '012Y' }, c)).toMatchObject({ analyse: false, rule: 'patient-age', reason: expect.stringContaining('aged 12 years') });
    expect(select({ ...adult, PatientAge: '030M' }, c)).toMatchObject({ analyse: false, rule: 'patient-age' });
    expect(select({ ...adult, PatientBirthDate: '20100601', StudyDate: '20260101' }, c)).toMatchObject({ analyse: false, reason: expect.stringContaining('aged 15') });
    expect(select({ ...adult, PatientBirthDate: '19700601', StudyDate: '20260101' }, c)).toEqual({ analyse: true });
    expect(select({ ...adult, PatientAge: '045Y' }, c)).toEqual({ analyse: true });
    expect(select(adult, c)).toEqual({ analyse: true });
    expect(select({ ...adult, PatientAge: '012Y' }, { ...c, minPatientAgeYears: 0 })).toEqual({ analyse: true });
    expect(JSON.stringify(select({ ...adult, PatientBirthDate: '20100601', StudyDate: '20260101' }, c))).not.toContain('20100601');
  });
});

describe('association policy', () => {
  const policy = { aeTitle: 'JOINTSCORE', allowUnknownPeers: false, allowLoopbackPeers: true, allowedPeers: [{ aeTitle: 'PACS', host: '10.0.0.5' }], maxAssociations: 2 };
  const ask = (o: Partial<{ calledAe: string; callingAe: string; host: string; active: number }>) =>
    decideAssociation(policy, { calledAe: 'JOINTSCORE', callingAe: 'PACS', host: '10.0.0.5', active: 0, ...o });

  it('accepts a listed peer from its host, also over a dual-stack socket', () => {
    expect(ask({})).toEqual({ accept: true });
    expect(ask({ host: '::ffff:10.0.0.5' })).toEqual({ accept: true });
  });

  it('refuses another called AE, an unknown calling AE or host, and a full house', () => {
    expect(ask({ calledAe: 'OTHER' })).toMatchObject({ accept: false, why: 'called-ae' });
    expect(ask({ callingAe: 'MODALITY' })).toMatchObject({ accept: false, why: 'calling-ae' });
    expect(ask({ host: '10.0.0.6' })).toMatchObject({ accept: false, why: 'calling-ae' });
    expect(ask({ active: 2 })).toMatchObject({ accept: false, why: 'busy', message: expect.stringContaining('dimse.maxAssociations = 2') });
  });

  it('closed by default: an unlisted peer only from this machine, and not even that with allowLoopbackPeers false', () => {
    expect(loadConfig({ env: {} }).dimse).toMatchObject({ allowUnknownPeers: false, allowLoopbackPeers: true });
    expect(ask({ callingAe: 'ANYONE', host: '127.0.0.1' })).toEqual({ accept: true });
    expect(ask({ callingAe: 'ANYONE', host: '::ffff:127.0.0.2' })).toEqual({ accept: true });
    expect(ask({ callingAe: 'ANYONE', host: '::1' })).toEqual({ accept: true });
    expect(ask({ callingAe: 'ANYONE', host: '10.0.0.5' })).toMatchObject({ accept: false, why: 'calling-ae', message: expect.stringContaining('add it there') });
    const strict = { ...policy, allowLoopbackPeers: false };
    expect(decideAssociation(strict, { calledAe: 'JOINTSCORE', callingAe: 'ANYONE', host: '127.0.0.1', active: 0 })).toMatchObject({ accept: false });
    expect(decideAssociation({ ...strict, allowUnknownPeers: true }, { calledAe: 'JOINTSCORE', callingAe: 'ANYONE', host: '10.9.9.9', active: 0 })).toEqual({ accept: true });
  });

  it("takes the sender's first supported transfer syntax and refuses classes it does not store", () => {
    expect(decideContext(DX, ['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.1'])).toEqual({ accept: true, transferSyntaxUid: '1.2.840.10008.1.2.4.80' });
    expect(decideContext(DX, ['1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2'])).toEqual({ accept: true, transferSyntaxUid: '1.2.840.10008.1.2' });
    expect(decideContext(DX, ['1.2.840.10008.1.2.1.99'])).toEqual({ accept: false, reason: 'transfer-syntaxes-not-supported' });
    expect(decideContext('1.2.840.10008.5.1.4.1.1.2', ['1.2.840.10008.1.2.1'])).toEqual({ accept: false, reason: 'abstract-syntax-not-supported' });
  });
});

describe('file meta header written ahead of a streamed data set', () => {
  it('is read by dcmdump and dcmjs as a Part 10 file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jointscore-meta-'));
    try {
      // a tiny explicit VR LE data set: (0008,0016) SOP Class, (0008,0018) SOP Instance, (0010,0010) Patient Name
      const el = (g: number, e: number, vr: string, v: string) => {
        const value = Buffer.from(v.length % 2 ? v + (vr === 'UI' ? '\0' : ' ') : v, 'latin1');
        const h = Buffer.alloc(8);
        h.writeUInt16LE(g, 0);
        h.writeUInt16LE(e, 2);
        h.write(vr, 4, 'latin1');
        h.writeUInt16LE(value.length, 6);
        return Buffer.concat([h, value]);
      };
      const body = Buffer.concat([el(8, 0x16, 'UI', DX), el(8, 0x18, 'UI', '1.2.3.4.5'), el(0x10, 0x10, 'PN', 'Test^Meta')]);
      const meta = encodeFileMeta({ sopClassUid: DX, sopInstanceUid: '1.2.3.4.5', transferSyntaxUid: '1.2.840.10008.1.2.1', sourceAeTitle: 'MODALITY' });
      const file = join(dir, 'x.dcm');
      writeFileSync(file, Buffer.concat([meta, body]));
      const dump = runTool('dcmdump', ['+E', file]);
      expect(dump.status, dump.stderr).toBe(0);
      expect(dump.stderr).toBe('');
      expect(dump.stdout).toMatch(/\(0002,0016\) AE \[MODALITY\]/);
      const parsed = readPart10(new Uint8Array(Buffer.concat([meta, body])));
      expect(parsed.meta.MediaStorageSOPInstanceUID).toBe('1.2.3.4.5');
      expect(parsed.dataset.PatientName).toEqual([{ Alphabetic: 'Test^Meta' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts only UIDs that are safe as file names and valid DICOM', () => {
    expect(isValidUid('1.2.840.10008.5.1.4.1.1.1.1')).toBe(true);
    for (const bad of ['', '1.2.abc', '../../etc/passwd', '1..2', '1.02', '1.2.'.padEnd(70, '3')]) expect(isValidUid(bad), bad).toBe(false);
  });
});

describe('laterality check', () => {
  const analysis = (...sides: ('L' | 'R')[]) => ({ source: {}, hands: sides.map((laterality) => ({ laterality })) }) as unknown as HandAnalysis;
  const labelled = (ImageLaterality?: string, Laterality?: string) => labelledSide({ ImageLaterality, Laterality } as NaturalDataset);

  it('agrees when the labelled side is the side found, or when nothing is labelled', () => {
    expect(checkLaterality(analysis('L'), labelled('L')).conflict).toBe(false);
    expect(checkLaterality(analysis('L', 'R'), labelled('B')).conflict).toBe(false);
    expect(checkLaterality(analysis('R'), labelled('')).conflict).toBe(false);
    expect(checkLaterality(analysis('R'), labelled('U')).conflict).toBe(false);
    expect(checkLaterality(analysis(), labelled('L')).conflict).toBe(false);
  });

  it('reports a left film read as a right hand, naming the attribute, and a "both" film with one side', () => {
    const c = checkLaterality(analysis('R'), labelled('L '));
    expect(c).toMatchObject({ labelled: 'L', found: ['R'], conflict: true });
    expect(c.message).toMatch(/labelled L \(Image Laterality \(0020,0062\) "L"\).*found R/);
    expect(checkLaterality(analysis('L'), labelled('B')).conflict).toBe(true);
    expect(checkLaterality(analysis('L', 'R'), labelled('L')).conflict).toBe(true);
  });

  it("reads the series' Laterality where Image Laterality gives no side, and names it", () => {
    expect(labelled('U', 'L')).toEqual({ side: 'L', says: 'Laterality (0020,0060) "L"' });
    expect(labelled(undefined, 'r')).toEqual({ side: 'R', says: 'Laterality (0020,0060) "R"' });
    expect(labelled('L', 'R')?.side).toBe('L');
    expect(labelled('U', '')).toBeUndefined();
    const c = checkLaterality(analysis('R'), labelled('U', 'L'));
    expect(c).toMatchObject({ labelled: 'L', conflict: true, conflicts: ['header'] });
    expect(c.message).toMatch(/labelled L \(Laterality \(0020,0060\) "L"\)/);
  });
});
