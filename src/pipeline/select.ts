import type { SelectionConfig } from '../config/types.js';
import type { NaturalDataset } from '../dicom/part10.js';
import { IMAGE_STORAGE } from '../dimse/negotiation.js';
import { DEFAULT_RESULT_OPTIONS } from './results.js';

/**
 * Is this object a hand radiograph the node should read? The rules run in a fixed order and
 * the first that refuses names itself, so `jointscore queue` can say exactly why an object
 * was skipped (and the administrator can see which setting to change).
 */
export type Selection = { analyse: true } | { analyse: false; rule: string; reason: string };

const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v).trim());
const within = (value: string, list: string[]) => list.some((x) => x.toUpperCase() === value.toUpperCase());

type Rule = (ds: NaturalDataset, c: SelectionConfig) => Selection | undefined;

const skip = (rule: string, reason: string): Selection => ({ analyse: false, rule, reason });

/**
 * Our own SR, overlay and presentation state, sent back by a PACS that routes whole studies:
 * known by the equipment they name, which no site setting changes (their series number does).
 */
const ownOutput: Rule = (ds) =>
  text(ds.Manufacturer) === DEFAULT_RESULT_OPTIONS.manufacturer && text(ds.ManufacturerModelName) === DEFAULT_RESULT_OPTIONS.deviceName
    ? skip('own-output', `made by this node (Manufacturer and Manufacturer's Model Name "${text(ds.Manufacturer)}", series ${ds.SeriesNumber}): never analysed`)
    : undefined;

const sopClass: Rule = (ds, c) => {
  const uid = text(ds.SOPClassUID);
  if (!(uid in IMAGE_STORAGE)) return skip('sop-class', `SOP Class ${uid} is not an image the node analyses`);
  if (c.sopClasses.length && !c.sopClasses.includes(uid)) return skip('sop-class', `SOP Class ${uid} is not in selection.sopClasses`);
  return undefined;
};

const DX_FOR_PROCESSING = '1.2.840.10008.5.1.4.1.1.1.1.1';

/**
 * A raw detector image: the exposure before the modality's own processing (tone curve, edge
 * enhancement), which the models never learnt and no radiologist reads. A modality that sends
 * it sends the For Presentation image of the same exposure too, and that one is analysed: one
 * result per exposure, on the image the viewer shows.
 */
const forProcessing: Rule = (ds, c) => {
  if (!c.skipForProcessing) return undefined;
  const intent = text(ds.PresentationIntentType).toUpperCase();
  const says = text(ds.SOPClassUID) === DX_FOR_PROCESSING ? `SOP Class ${DX_FOR_PROCESSING} (Digital X-Ray Image Storage - For Processing)` : intent === 'FOR PROCESSING' ? 'Presentation Intent Type (0008,0068) "FOR PROCESSING"' : undefined;
  return says ? skip('for-processing', `${says}: raw detector data, before the modality's image processing; its For Presentation image is the one analysed (selection.skipForProcessing)`) : undefined;
};

const modality: Rule = (ds, c) => {
  const m = text(ds.Modality);
  return c.modalities.length && !within(m, c.modalities)
    ? skip('modality', `Modality (0008,0060) "${m}" is not in selection.modalities [${c.modalities.join(', ')}]`)
    : undefined;
};

const bodyPart: Rule = (ds, c) => {
  if (!c.bodyParts.length) return undefined;
  const part = text(ds.BodyPartExamined);
  if (!part) {
    return c.allowMissingBodyPart ? undefined : skip('body-part', 'Body Part Examined (0018,0015) is empty and selection.allowMissingBodyPart is false');
  }
  return within(part, c.bodyParts)
    ? undefined
    : skip('body-part', `Body Part Examined (0018,0015) "${part}" is not in selection.bodyParts [${c.bodyParts.join(', ')}]`);
};

/** Body Part Examined codes of a hand film (CID 4031): where the header says one, the descriptions are not asked. */
const HAND_PART_CODES = ['HAND', 'FINGER', 'WRIST', 'THUMB'];

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

/**
 * A film whose header names no hand part as Body Part Examined (empty, or a generic code a site
 * lets through such as EXTREMITY) and whose descriptions name another body part and no hand:
 * the feet of a rheumatology study routed with its hands, typed "FEET DP" with the body part
 * left empty. A description that also names a hand ("hands and feet", "finger/toe") says
 * nothing; the pixels judge every film again (a foot the detector takes for a hand is refused
 * by the thumb checks of src/inference/view.ts, not always).
 */
const declaredBodyPart: Rule = (ds, c) => {
  if (!c.skipDeclaredBodyParts || within(text(ds.BodyPartExamined), HAND_PART_CODES)) return undefined;
  const named = VIEW_TEXT_ATTRIBUTES.map(([key, name]) => ({ name, ...bodyPartOfText(text(ds[key])) }));
  if (named.some((n) => n.hand)) return undefined;
  const other = named.find((n) => n.other);
  return other
    ? skip('declared-body-part', `the word "${other.other}" in ${other.name} names a body part other than the hand, and no description names a hand (selection.skipDeclaredBodyParts)`)
    : undefined;
};

const seriesDescription: Rule = (ds, c) => {
  const desc = text(ds.SeriesDescription);
  const hit = c.seriesDescriptionExclude.find((re) => new RegExp(re, 'i').test(desc));
  return hit !== undefined ? skip('series-description', `Series Description (0008,103E) "${desc}" matches selection.seriesDescriptionExclude /${hit}/`) : undefined;
};

const laterality: Rule = (ds, c) => {
  if (!c.lateralities.length) return undefined;
  const lat = text(ds.ImageLaterality) || text(ds.Laterality) || 'U';
  return within(lat, c.lateralities)
    ? undefined
    : skip('laterality', `Image Laterality (0020,0062) "${lat}" is not in selection.lateralities [${c.lateralities.join(', ')}]`);
};

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
 * The Nørgaard ("ball-catcher") view, taken in rheumatology, is an oblique.
 */
const VIEW_TEXT_WORDS: readonly [DeclaredView, RegExp][] = [
  ['oblique', /^(obl|obliq|oblique|obliqua|obliquo|oblicua|oblicuo|obl[ií]qua|schr[aä]g|schraeg|schuin|sned|skr[aå]|n[oø]rgaard|noergaard|ballcatcher|lao|rao|llo|rlo)$/i],
  ['lateral', /^(lat|lateral|laterale|lateraal|seitlich|profil|perfil|zij)$/i],
  ['frontal', /^(pa|ap|dp|pd|frontal|face|dorsopalmar|palmodorsal|posteroanterior|anteroposterior)$/i],
];

/** words that join the names of several views in one text ("PA / OBL", "PA + lat", "PA and oblique") */
const VIEW_LIST_SEPARATOR = /\s*(?:[\/+,;&]|\b(?:and|und|et|y|e|en|og|och)\b)\s*/i;

/**
 * The one view a free text names, with the word that names it: "PA oblique" is the oblique
 * projection (oblique before lateral before frontal, as for View Position), while a text that
 * lists several views ("PA / OBL", "Hand PA + lat") names the series, not this image.
 */
export function viewOfText(value: string): { view: DeclaredView; word: string } | undefined {
  const ball = /ball[\s-]*catcher/i.exec(value);
  const parts = value.replace(/ball[\s-]*catcher/gi, 'ballcatcher').split(VIEW_LIST_SEPARATOR);
  const named = parts.flatMap((part) => {
    // "P.A." is PA: dots inside a word are dropped for matching, the word is quoted as written
    const words = part.split(/[^\p{L}.]+/u).map((w) => w.replace(/\.$/, '')).filter(Boolean);
    for (const [view, re] of VIEW_TEXT_WORDS) {
      const word = words.find((w) => re.test(w.replace(/\./g, '')));
      if (word) return [{ view, word: word.toLowerCase() === 'ballcatcher' && ball ? ball[0] : word }];
    }
    return [];
  });
  return named.length > 0 && named.every((n) => n.view === named[0].view) ? named[0] : undefined;
}

/** Free texts that may name an image's view: the processing menu the modality ran first (per image). */
const VIEW_TEXT_ATTRIBUTES: readonly [keyof NaturalDataset & string, string][] = [
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
  for (const [key, name] of VIEW_TEXT_ATTRIBUTES) {
    const named = viewOfText(text(ds[key]));
    if (named) said.push({ view: named.view, says: `the word "${named.word}" in ${name}` });
  }
  return agreed(said);
}

/**
 * A film the modality itself labels lateral or oblique: the scores are defined on PA (and
 * AP) views. The pixels judge every film again (src/inference/view.ts), but a real oblique
 * with its fingers fanned can lie as a PA hand does; where the header says so, that is
 * decisive. `selection.skipDeclaredViews: []` leaves the view to the pixels alone.
 */
const declaredViewRule: Rule = (ds, c) => {
  const declared = declaredView(ds);
  return declared && declared.view !== 'frontal' && c.skipDeclaredViews.includes(declared.view)
    ? skip('declared-view', `${declared.says} ${declared.says.includes(' and ') ? 'declare' : 'declares'} ${declared.view === 'oblique' ? 'an' : 'a'} ${declared.view} view: the scores are defined on PA and AP hand views (selection.skipDeclaredViews [${c.skipDeclaredViews.join(', ')}])`)
    : undefined;
};

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

/**
 * A film the radiographer labels as taken through a cast: bone margins and joint spaces under
 * plaster or fibreglass are not what the grader learnt. The reason names the attribute and the
 * word, not the whole text.
 */
const declaredCast: Rule = (ds, c) => {
  if (!c.skipDeclaredCasts) return undefined;
  for (const [key, name] of CAST_ATTRIBUTES) {
    const word = CAST_WORDS.exec(text(ds[key]))?.[0];
    if (word) return skip('declared-cast', `${name} names a cast ("${word}"): joints under a cast are not graded (selection.skipDeclaredCasts)`);
  }
  return undefined;
};

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

/**
 * A site that wants no result at all for children skips them here (off by default: the
 * analysis reports a child's hands as not graded, analysis.minGradingAgeYears). Unknown age passes.
 */
const patientAge: Rule = (ds, c) => {
  if (!c.minPatientAgeYears) return undefined;
  const age = patientAgeYears(ds);
  return age !== undefined && age < c.minPatientAgeYears
    ? skip('patient-age', `patient aged ${Math.floor(age)} years (Patient's Age (0010,1010), or Birth Date and Study Date): under selection.minPatientAgeYears ${c.minPatientAgeYears}`)
    : undefined;
};

export const RULES: readonly Rule[] = [ownOutput, sopClass, forProcessing, modality, bodyPart, declaredBodyPart, seriesDescription, laterality, declaredViewRule, declaredCast, patientAge];

export function select(ds: NaturalDataset, c: SelectionConfig): Selection {
  for (const rule of RULES) {
    const s = rule(ds, c);
    if (s) return s;
  }
  return { analyse: true };
}
