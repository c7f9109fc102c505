import type { NaturalDataset } from '../dicom/part10.js';
import type { Laterality } from '../analysis/joints.js';
import type { LabelledSide } from '../analysis/laterality.js';
import type { DeclaredFinger, NamedFinger } from '../inference/finger.js';

/**
 * What an image's own header says about it, read from its coded attributes and from the free
 * texts that sites type or their modalities fill from the exam menu: the view, the body part in
 * words, a cast, the patient's age. src/pipeline/select.ts turns these into selection rules.
 */

export const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v).trim());

export type DeclaredView = 'frontal' | 'lateral' | 'oblique';

/**
 * View Position (0018,5101) words as modalities write them for a hand: the DX defined terms
 * and the free text some use ("PA OBL"); oblique before lateral before frontal.
 */
const VIEW_POSITION_WORDS: readonly [DeclaredView, readonly string[]][] = [
  ['oblique', ['LLO', 'RLO', 'LAO', 'RAO', 'OBL', 'OBLIQUE']],
  ['lateral', ['LL', 'RL', 'LAT', 'LATERAL']],
  ['frontal', ['PA', 'AP']],
];

function viewOfPosition(position: string): DeclaredView | undefined {
  const words = position.toUpperCase().split(/[^A-Z]+/);
  return VIEW_POSITION_WORDS.find(([, known]) => words.some((w) => known.includes(w)))?.[0];
}

/** A View Code Sequence (0054,0220) item's meaning (CID 4010 "DX View" and local codes): oblique before lateral ("left lateral oblique"). */
function viewOfMeaning(meaning: string): DeclaredView | undefined {
  if (/oblique/i.test(meaning)) return 'oblique';
  if (/lateral|latero-?medial|medio-?lateral/i.test(meaning)) return 'lateral';
  if (/postero-?anterior|antero-?posterior|dorso-?palmar|palmo-?dorsal|frontal|\b(PA|AP)\b/i.test(meaning)) return 'frontal';
  return undefined;
}

/**
 * View words in the free texts sites type or their modalities fill from the exam menu, as whole
 * words (English, German, French, Spanish, Italian, Portuguese, Dutch and the Nordic languages).
 */
const VIEW_TEXT_WORDS: readonly [DeclaredView, RegExp][] = [
  ['oblique', /^(obl|obliq|oblique|obliqua|obliquo|oblicua|oblicuo|obl[ií]qua|schr[aä]g|schraeg|schuin|sned|skr[aå]|lao|rao|llo|rlo)$/i],
  ['lateral', /^(lat|lateral|laterale|lateraal|seitlich|profil|perfil|zij)$/i],
  ['frontal', /^(pa|ap|dp|pd|frontal|face|dorsopalmar|palmodorsal|posteroanterior|anteroposterior)$/i],
];

/** The Nørgaard ("ball-catcher") view of rheumatology, an AP oblique of both hands: oblique whatever else its name says. */
const NORGAARD = /n(ø|o|oe)rgaard|ball[\s-]*catcher/i;

/**
 * The one view a free text names, with the word that names it. A text that names views of two
 * kinds says nothing: a series description lists the series' views ("PA OBL", "AP LAT", "PA /
 * oblique") more often than it names the PA oblique projection, and an image of such a series
 * may be either. Dots inside a word are dropped for matching ("P.A."), the word quoted as written.
 */
export function viewOfText(value: string): { view: DeclaredView; word: string } | undefined {
  const norgaard = NORGAARD.exec(value);
  if (norgaard) return { view: 'oblique', word: norgaard[0] };
  const words = value.split(/[^\p{L}.]+/u).map((w) => w.replace(/\.$/, '')).filter(Boolean);
  const named = words.flatMap((word) => {
    const kind = VIEW_TEXT_WORDS.find(([, re]) => re.test(word.replace(/\./g, '')));
    return kind ? [{ view: kind[0], word }] : [];
  });
  return named.length > 0 && named.every((n) => n.view === named[0].view) ? named[0] : undefined;
}

/** Free texts that may name an image's view or body part: the processing menu the modality ran (per image) first, then the protocol and the series. */
export const DESCRIPTION_ATTRIBUTES: readonly [keyof NaturalDataset & string, string][] = [
  ['AcquisitionDeviceProcessingDescription', 'Acquisition Device Processing Description (0018,1400)'],
  ['ProtocolName', 'Protocol Name (0018,1030)'],
  ['SeriesDescription', 'Series Description (0008,103E)'],
];

/** What a set of statements declares: one view, or nothing where frontal and not-frontal are both said. */
function agreed(said: { view: DeclaredView; says: string }[]): { view: DeclaredView; says: string } | undefined {
  if (said.length === 0) return undefined;
  const frontal = said.filter((s) => s.view === 'frontal').length;
  if (frontal > 0 && frontal < said.length) return undefined;
  return { view: said[0].view, says: said.map((s) => s.says).join(' and ') };
}

/**
 * The view the image's own header declares, with the attribute that says so: View Position
 * and the View Code Sequence first (coded, per image); where both are silent, the free texts
 * (the word quoted, not the whole text). Undefined where none declares one, or where they
 * disagree about frontal against not (a header that contradicts itself says nothing; the
 * pixels decide).
 */
export function declaredView(ds: NaturalDataset): { view: DeclaredView; says: string } | undefined {
  const said: { view: DeclaredView; says: string }[] = [];
  const position = text(ds.ViewPosition);
  const placed = position ? viewOfPosition(position) : undefined;
  if (placed) said.push({ view: placed, says: `View Position (0018,5101) "${position}"` });
  const seq = ds.ViewCodeSequence as unknown;
  const item = (Array.isArray(seq) ? seq[0] : seq) as { CodeMeaning?: unknown } | undefined;
  const meaning = text(item?.CodeMeaning);
  const coded = meaning ? viewOfMeaning(meaning) : undefined;
  if (coded) said.push({ view: coded, says: `View Code Sequence (0054,0220) "${meaning}"` });
  if (said.length > 0) return agreed(said);
  for (const [key, name] of DESCRIPTION_ATTRIBUTES) {
    const named = viewOfText(text(ds[key]));
    if (named) said.push({ view: named.view, says: `the word "${named.word}" in ${name}` });
  }
  return agreed(said);
}

/** Words for the hand and its parts in the descriptions sites type (as for the views: several languages, whole words). */
const HAND_WORDS = /^(hands?|wrists?|fingers?|thumbs?|carp\p{L}*|metacarp\p{L}*|scaphoid|handgelenke?|daumen|mains?|poignets?|doigts?|pouces?|manos?|mu[nñ]ecas?|dedos?|pulgar|polso|dit[ao]|pollice|pols|vingers?|duim|h[aå]nd|h[aå]ndled|tommel\p{L}*|tumme)$/iu;

/**
 * Words for other body parts a broad routing rule brings along: the feet of a rheumatology
 * study first (foot, toes, forefoot and their names in German, French, Spanish, Italian, Dutch
 * and the Nordic languages), then the rest of the limbs and the trunk.
 */
const OTHER_PART_WORDS = /^(foot|feet|toes?|forefoot|hallux|ankles?|calcaneus|heels?|fu(ss|ß)|f(ü|ue)(ss|ß)e|vorfu(ss|ß)|zehen?|sprunggelenk|pieds?|orteils?|chevilles?|pies?|tobillos?|piedi|piede|alluce|caviglia|voet(en)?|tenen|fot|fod|f(ö|oe)tter|tå|tæer|knees?|knie|genou|rodilla|ginocchio|hips?|h(ü|ue)fte|hanche|cadera|pelvis|becken|bassin|chest|thorax|lungs?|ribs?|spine|skull|sch(ä|ae)del|abdomen|elbows?|ellbogen|coude|codo|gomito|shoulders?|schulter|[eé]paule|hombro|spalla|humerus|clavicle|femur|tibia|fibula|forearm|unterarm|antebrazo|avambraccio)$/iu;

/** What a free text names: a hand (or its parts), another body part (the word), both, or neither. */
export function bodyPartOfText(value: string): { hand: boolean; other?: string } {
  const words = value.split(/[^\p{L}]+/u).filter(Boolean);
  const other = words.find((w) => OTHER_PART_WORDS.test(w));
  return { hand: words.some((w) => HAND_WORDS.test(w)), ...(other ? { other } : {}) };
}

/** Another body part named by a description, where none names a hand: the first such word and its attribute. */
export function declaredOtherBodyPart(ds: NaturalDataset): { attribute: string; word: string } | undefined {
  const named = DESCRIPTION_ATTRIBUTES.map(([key, attribute]) => ({ attribute, ...bodyPartOfText(text(ds[key])) }));
  if (named.some((n) => n.hand)) return undefined;
  for (const { attribute, other } of named) if (other) return { attribute, word: other };
  return undefined;
}

/**
 * Words for a cast or plaster slab in the descriptions radiographers type (English, German and
 * Dutch and the Nordic languages, French, Spanish, Italian and Portuguese), as whole words.
 */
const CAST_WORDS = /\b(casts?|plaster|p\.?o\.?p|fib(re|er)\s*glass|back\s*slab|gips\w*|pl[aâ]tre|yeso|escayola|gesso)\b/i;

const CAST_ATTRIBUTES: readonly [keyof NaturalDataset & string, string][] = [
  ['SeriesDescription', 'Series Description (0008,103E)'],
  ['ProtocolName', 'Protocol Name (0018,1030)'],
  ['StudyDescription', 'Study Description (0008,1030)'],
];

/** The first description naming a cast, and the word (not the whole text: it may say more). */
export function declaredCast(ds: NaturalDataset): { attribute: string; word: string } | undefined {
  for (const [key, attribute] of CAST_ATTRIBUTES) {
    const word = CAST_WORDS.exec(text(ds[key]))?.[0];
    if (word) return { attribute, word };
  }
  return undefined;
}

/** Age in whole years from Patient's Age (AS: 012Y, 030M, 010W, 100D), else from Patient's Birth Date and the study's date. */
export function patientAgeYears(ds: NaturalDataset): number | undefined {
  const as = /^(\d{3})([DWMY])$/.exec(text(ds.PatientAge).toUpperCase());
  if (as) return Number(as[1]) / { D: 365.25, W: 52.18, M: 12, Y: 1 }[as[2] as 'D' | 'W' | 'M' | 'Y'];
  const date = (v: unknown) => {
    const m = /^(\d{4})(\d{2})(\d{2})$/.exec(text(v));
    return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
  };
  const born = date(ds.PatientBirthDate);
  const seen = date(ds.StudyDate) ?? date(ds.ContentDate) ?? date(ds.AcquisitionDate);
  return born !== undefined && seen !== undefined && seen >= born ? (seen - born) / (365.25 * 86_400_000) : undefined;
}

/** Anatomic Region Sequence (0008,2218) codes of the fingers (SNOMED CT, CID 4031 and its neighbours): the digit each names, 0 a finger unnamed, 1 the thumb. */
const FINGER_CODES: Readonly<Record<string, 0 | 1 | 2 | 3 | 4 | 5>> = {
  '7569003': 0, // Finger
  '76505004': 1, // Thumb
  '83738005': 2, // Index finger
  '65531009': 3, // Middle finger
  '43825001': 3, // (third finger, as some code it)
  '82002001': 4, // Ring finger
  '12406000': 5, // Little finger
};

/**
 * A finger named by its place or name, as radiographers type it (English, German, French, Spanish,
 * Italian, Dutch): "R 5TH FINGER", "INDEX FINGER LT", "Finger 3", "DIG II", "D4", "Ringfinger",
 * "auriculaire". A name that means other things ("ring", "little", "5th") names a finger only in a
 * text that speaks of fingers, a number only after a word for finger and not where it counts views
 * ("FINGER 3 VIEWS"); the thumb (1) is named so that it is not read as another finger.
 */
const FINGER_NAMES: readonly [1 | 2 | 3 | 4 | 5, RegExp][] = [
  [1, /^(THUMB|DAUMEN|POUCE|PULGAR|POLLICE|DUIM)$/],
  [2, /^(ZEIGEFINGER|WIJSVINGER)$/],
  [3, /^(MITTELFINGER|MIDDELVINGER)$/],
  [4, /^(RINGFINGER|RINGVINGER|ANNULAIRE)$/],
  [5, /^(KLEINFINGER|PINKY|PINKIE|AURICULAIRE|ME(Ñ|N)IQUE|MIGNOLO)$/u],
];
const FINGER_PLACES: Readonly<Record<string, 1 | 2 | 3 | 4 | 5>> = {
  '1ST': 1, FIRST: 1, '2ND': 2, SECOND: 2, '3RD': 3, THIRD: 3, '4TH': 4, FOURTH: 4, '5TH': 5, FIFTH: 5,
  INDEX: 2, INDICE: 2, ÍNDICE: 2, MIDDLE: 3, LONG: 3, MAJEUR: 3, MEDIO: 3, RING: 4, ANULAR: 4, LITTLE: 5, SMALL: 5,
};
const NUMBERS: Readonly<Record<string, 1 | 2 | 3 | 4 | 5>> = { '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, I: 1, II: 2, III: 3, IV: 4, V: 5 };
const FINGER_WORD = /^(FINGERS?|DIGITS?|DIG|FNGR|FING|DOIGTS?|DEDOS?|DIT[AO]|DITI|VINGERS?)$/u;
const VIEW_COUNT_WORD = /^(VIEWS?|VWS?|PROJ\p{L}*|IMAGES?|AUFNAHMEN|EBENEN|INCIDENCES?|PROYECCIONES)$/u;
const D_FORM = /^D(IG)?([1-5])$/;

/**
 * The digits a free text names (1 thumb .. 5 little finger), each with the word that names it as
 * written (a log quotes the word, not the text: a description may say more), and whether the text
 * speaks of a finger at all.
 */
export function digitsOfText(value: string): { digits: Map<number, string>; finger: boolean } {
  const written = value.split(/[^\p{L}\d]+/u).filter(Boolean);
  const words = written.map((w) => w.toUpperCase());
  const digits = new Map<number, string>();
  const add = (digit: number, i: number) => digits.has(digit) || digits.set(digit, written[i]);
  words.forEach((word, i) => FINGER_NAMES.filter(([, re]) => re.test(word)).forEach(([digit]) => add(digit, i)));
  const finger = digits.size > 0 || words.some((word) => FINGER_WORD.test(word));
  words.forEach((word, i) => {
    const [before, after] = [words[i - 1] ?? '', words[i + 1] ?? ''];
    // "2ND AND 3RD FINGER", "FINGER, RING, LEFT": a place word anywhere in a text about fingers
    if (finger && FINGER_PLACES[word] && !VIEW_COUNT_WORD.test(after)) add(FINGER_PLACES[word], i);
    if (NUMBERS[word] && (FINGER_WORD.test(before) || before === 'D') && !VIEW_COUNT_WORD.test(after)) add(NUMBERS[word], i);
    const d = D_FORM.exec(word);
    if (d) add(Number(d[2]), i);
  });
  return { digits, finger };
}

/** The side a free text names, with the word as written: "RIGHT", "RT", "R", "LEFT", "LT", "L" (and their German, French, Spanish names); undefined for none or both. */
function sideOfText(value: string): { side: Laterality; word: string } | undefined {
  const written = value.split(/[^\p{L}]+/u).filter(Boolean);
  const right = written.find((w) => /^(RIGHT|RT|R|RECHTS?|DROITE?|DERECH[AO]|DESTR[AO])$/.test(w.toUpperCase()));
  const left = written.find((w) => /^(LEFT|LT|L|LINKS?|GAUCHE|IZQUIERD[AO]|SINISTR[AO])$/.test(w.toUpperCase()));
  if (!right === !left) return undefined;
  return right ? { side: 'R', word: right } : { side: 'L', word: left! };
}

const FINGER_TEXT_ATTRIBUTES: readonly [keyof NaturalDataset & string, string][] = [
  ...DESCRIPTION_ATTRIBUTES,
  ['StudyDescription', 'Study Description (0008,1030)'],
];

/**
 * The side the header labels the film with: Image Laterality, else the series' Laterality. A
 * value that gives no side (U, unpaired, or empty: the DX IOD makes Image Laterality type 1, so
 * modalities that do not know write U) passes to the next attribute instead of hiding it. Read
 * here once, for the laterality check (src/analysis/laterality.ts) and for naming a finger.
 */
export function labelledSide(ds: NaturalDataset): LabelledSide | undefined {
  for (const [key, attribute] of [['ImageLaterality', 'Image Laterality (0020,0062)'], ['Laterality', 'Laterality (0020,0060)']] as const) {
    const value = text(ds[key]).toUpperCase();
    if (value === 'L' || value === 'R' || value === 'B') return { side: value, says: `${attribute} "${value}"` };
  }
  return undefined;
}

/** The one side the header gives (L or R), with the attribute; undefined for both hands or none. */
export function headerSide(ds: NaturalDataset): { side: Laterality; says: string } | undefined {
  const labelled = labelledSide(ds);
  return labelled && labelled.side !== 'B' ? { side: labelled.side, says: labelled.says } : undefined;
}

/**
 * The finger a film's header says it shows, for reading a finger film (src/inference/finger.ts):
 * undefined unless the header says the film is of a finger: Body Part Examined FINGER or THUMB, an
 * Anatomic Region Sequence code of a finger, a description of the image or its series naming a
 * finger's digit ("R 5TH FINGER", whatever the body part), or one speaking of fingers where Body
 * Part Examined does not say HAND or WRIST (a study's description covers its other series too:
 * "HAND AND FINGERS"). The digit from the Anatomic Region Sequence, else the
 * first description (the study's too) that names exactly one; the side from Image Laterality, else
 * Laterality, else the words of the description that named the digit. A film of the thumb, or of
 * several fingers named together ("2ND AND 3RD FINGER"), or whose digit or side no attribute
 * gives, is `unnamed`, with what is missing (and its side where the header gives one): a heatmap
 * detector cannot tell one finger from another, nor a left from a right one, without the hand
 * around it.
 */
export function declaredFinger(ds: NaturalDataset): DeclaredFinger | undefined {
  const region = ds.AnatomicRegionSequence as unknown;
  const item = (Array.isArray(region) ? region[0] : region) as { CodeValue?: unknown; CodeMeaning?: unknown } | undefined;
  const coded = FINGER_CODES[text(item?.CodeValue)];
  const texts = FINGER_TEXT_ATTRIBUTES.map(([key, name]) => ({ key, name, value: text(ds[key]), ...digitsOfText(text(ds[key])) }));
  const bodyPart = text(ds.BodyPartExamined).toUpperCase();
  // a finger named (a digit) by the film's own description counts whatever the body part (a modality's menu may say HAND
  // for every exam of the hand); "fingers" alone only where the body part does not say HAND or WRIST
  const ofThisFilm = texts.some((t) => t.key !== 'StudyDescription' && (t.digits.size > 0 || (t.finger && bodyPart !== 'HAND' && bodyPart !== 'WRIST')));
  if (coded === undefined && bodyPart !== 'FINGER' && bodyPart !== 'THUMB' && !ofThisFilm) return undefined;
  // the description that names the finger may name the side too ("R 5TH FINGER")
  const described = texts.filter((t) => t.digits.size === 1).map((t) => {
    const [[digit, word]] = [...t.digits];
    return { digit, word, says: `the word "${word}" in ${t.name}`, side: sideOfText(t.value), where: t.name };
  })[0];
  const named = coded
    ? { digit: coded, says: `Anatomic Region Sequence (0008,2218) "${text(item?.CodeMeaning) || text(item?.CodeValue)}"` }
    : described ?? (bodyPart === 'THUMB' ? { digit: 1, says: 'Body Part Examined (0018,0015) "THUMB"' } : undefined);
  const fix = 'name it in the Series Description ("R 5TH FINGER", "LEFT INDEX FINGER") or code it in Anatomic Region Sequence (0008,2218)';
  const fromHeader = headerSide(ds);
  const sided = fromHeader ? { laterality: fromHeader.side } : {};
  if (!named || named.digit === 0) {
    const said = texts.some((t) => t.digits.size > 1) ? 'its description names several' : 'it says finger, no more';
    return { unnamed: `a finger film whose header names no one finger (${said}): a finger alone does not show which it is; ${fix}`, ...sided };
  }
  if (named.digit === 1) return { unnamed: `a film of the thumb (${named.says}): the thumb alone is not read (its joints are read on hand and wrist films)`, ...sided };
  const digit = named.digit as NamedFinger['digit'];
  if (fromHeader) return { finger: { digit, laterality: fromHeader.side, says: `${named.says} and ${fromHeader.says}` } };
  const worded = named === described ? described.side : undefined;
  if (!worded) return { unnamed: `a finger film (${named.says}) whose header names no side: a finger alone does not show whose hand it is; set Image Laterality (0020,0062) at the modality` };
  return { finger: { digit, laterality: worded.side, says: `the words "${described!.word}" and "${worded.word}" in ${described!.where}` } };
}
