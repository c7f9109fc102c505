import { isValidUid } from '../../dicom/uid.js';
import type { NaturalDataset } from '../../dicom/part10.js';
import { ReportBuildError } from '../common.js';

/**
 * SR content items (PS3.3 C.17.3) as small typed builders, highdicom-style: every
 * constructor checks what it is given and throws an {@link SrBuildError} that says which
 * item, what was wrong and what was expected, so that a bad tree is never written.
 *
 * Items are immutable once built; `toDataset()` gives the dcmjs naturalized form of one
 * Content Sequence item (or, for the root, the document-level content attributes).
 */

export class SrBuildError extends ReportBuildError {
  constructor(message: string) {
    super(message);
    this.name = 'SrBuildError';
  }
}

export type ValueType =
  | 'CONTAINER' | 'CODE' | 'NUM' | 'TEXT' | 'UIDREF' | 'IMAGE' | 'SCOORD' | 'SCOORD3D'
  | 'DATETIME' | 'DATE' | 'TIME' | 'PNAME' | 'TCOORD' | 'COMPOSITE' | 'WAVEFORM';

export type RelationshipType =
  | 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS ACQ CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES'
  | 'INFERRED FROM' | 'SELECTED FROM';

/** Which SR IOD the tree is meant for: the relationship tables differ slightly. */
export type SrIod = 'comprehensive3d' | 'comprehensive';

const RELATIONSHIPS: readonly RelationshipType[] = [
  'CONTAINS', 'HAS OBS CONTEXT', 'HAS ACQ CONTEXT', 'HAS CONCEPT MOD', 'HAS PROPERTIES',
  'INFERRED FROM', 'SELECTED FROM',
];

/**
 * Relationship content constraints, by-value only, of PS3.3 Table A.35.13-2
 * (Comprehensive 3D SR), as DCMTK's DSRComprehensive3DSRConstraintChecker implements them.
 * Comprehensive SR (Table A.35.3-2) differs as {@link isRelationshipAllowed} says.
 */
const ANY_TARGET_BASIC: ValueType[] = ['TEXT', 'CODE', 'NUM', 'DATETIME', 'DATE', 'TIME', 'UIDREF', 'PNAME'];
const RELATIONSHIP_TABLE: { rel: RelationshipType; sources: ValueType[] | 'any'; targets: ValueType[] }[] = [
  {
    rel: 'CONTAINS', sources: ['CONTAINER'],
    targets: [...ANY_TARGET_BASIC, 'SCOORD', 'SCOORD3D', 'TCOORD', 'COMPOSITE', 'IMAGE', 'WAVEFORM', 'CONTAINER'],
  },
  { rel: 'HAS OBS CONTEXT', sources: ['CONTAINER', 'TEXT', 'CODE', 'NUM'], targets: [...ANY_TARGET_BASIC, 'COMPOSITE'] },
  {
    rel: 'HAS ACQ CONTEXT', sources: ['CONTAINER', 'IMAGE', 'WAVEFORM', 'COMPOSITE', 'NUM'],
    targets: [...ANY_TARGET_BASIC, 'CONTAINER'],
  },
  { rel: 'HAS CONCEPT MOD', sources: 'any', targets: ['TEXT', 'CODE'] },
  {
    rel: 'HAS PROPERTIES', sources: ['TEXT', 'CODE', 'NUM'],
    targets: [...ANY_TARGET_BASIC, 'IMAGE', 'WAVEFORM', 'COMPOSITE', 'SCOORD', 'SCOORD3D', 'TCOORD', 'CONTAINER'],
  },
  { rel: 'HAS PROPERTIES', sources: ['PNAME'], targets: ['TEXT', 'CODE', 'DATETIME', 'DATE', 'TIME', 'UIDREF', 'PNAME'] },
  {
    rel: 'INFERRED FROM', sources: ['TEXT', 'CODE', 'NUM'],
    targets: [...ANY_TARGET_BASIC, 'IMAGE', 'WAVEFORM', 'COMPOSITE', 'SCOORD', 'SCOORD3D', 'TCOORD', 'CONTAINER'],
  },
  { rel: 'SELECTED FROM', sources: ['SCOORD'], targets: ['IMAGE'] },
  { rel: 'SELECTED FROM', sources: ['TCOORD'], targets: ['SCOORD', 'SCOORD3D', 'IMAGE', 'WAVEFORM'] },
];

export function isRelationshipAllowed(
  source: ValueType,
  rel: RelationshipType,
  target: ValueType,
  iod: SrIod = 'comprehensive3d',
): boolean {
  if (iod === 'comprehensive') {
    // Table A.35.3-2 (as DCMTK's DSRComprehensiveSRConstraintChecker): no SCOORD3D, no
    // NUM HAS ACQ CONTEXT, no PNAME HAS PROPERTIES.
    if (source === 'SCOORD3D' || target === 'SCOORD3D') return false;
    if (rel === 'HAS ACQ CONTEXT' && source === 'NUM') return false;
    if (rel === 'HAS PROPERTIES' && source === 'PNAME') return false;
  }
  return RELATIONSHIP_TABLE.some(
    (r) => r.rel === rel && (r.sources === 'any' || r.sources.includes(source)) && r.targets.includes(target),
  );
}

// ---------------------------------------------------------------------------------------
// Coded concepts

const SH_MAX = 16;
const LO_MAX = 64;

/** A code triplet (PS3.3 Table 8.8-1). Code values longer than 16 chars use Long Code Value. */
export class CodedConcept {
  readonly value: string;
  readonly scheme: string;
  readonly meaning: string;
  readonly schemeVersion?: string;

  constructor(value: string, scheme: string, meaning: string, schemeVersion?: string) {
    const what = `code (${value}, ${scheme}, "${meaning}")`;
    if (typeof value !== 'string' || value.trim() === '') throw new SrBuildError(`${what}: Code Value is empty`);
    if (typeof scheme !== 'string' || scheme.trim() === '') {
      throw new SrBuildError(`${what}: Coding Scheme Designator is empty`);
    }
    if (scheme.length > SH_MAX) {
      throw new SrBuildError(`${what}: Coding Scheme Designator is longer than ${SH_MAX} characters`);
    }
    if (typeof meaning !== 'string' || meaning.trim() === '') throw new SrBuildError(`${what}: Code Meaning is empty`);
    if (meaning.length > LO_MAX) throw new SrBuildError(`${what}: Code Meaning is longer than ${LO_MAX} characters`);
    for (const [k, v] of [['Code Value', value], ['Code Meaning', meaning], ['designator', scheme]] as const) {
      if (v.includes('\\')) throw new SrBuildError(`${what}: ${k} must not contain a backslash`);
    }
    this.value = value;
    this.scheme = scheme;
    this.meaning = meaning;
    if (schemeVersion !== undefined) this.schemeVersion = schemeVersion;
    Object.freeze(this);
  }

  /** Same concept: value and designator match (the meaning is only a label). */
  equals(other: CodedConcept | undefined): boolean {
    return !!other && other.value === this.value && other.scheme === this.scheme;
  }

  toString(): string {
    return `(${this.value}, ${this.scheme}, "${this.meaning}")`;
  }

  toItem(): NaturalDataset {
    const item: NaturalDataset = {};
    if (this.value.length > SH_MAX) item.LongCodeValue = this.value;
    else item.CodeValue = this.value;
    item.CodingSchemeDesignator = this.scheme;
    if (this.schemeVersion !== undefined) item.CodingSchemeVersion = this.schemeVersion;
    item.CodeMeaning = this.meaning;
    return item;
  }

  static fromItem(item: NaturalDataset | undefined, where = 'code sequence item'): CodedConcept {
    if (!item) throw new SrBuildError(`${where}: missing code sequence item`);
    const value = item.CodeValue ?? item.LongCodeValue ?? item.URNCodeValue;
    return new CodedConcept(String(value ?? ''), String(item.CodingSchemeDesignator ?? ''), String(item.CodeMeaning ?? ''),
      item.CodingSchemeVersion);
  }
}

// ---------------------------------------------------------------------------------------
// Content items

export interface ItemOptions {
  /** Relationship to the parent; omitted only for the document root. */
  relationship?: RelationshipType;
  children?: readonly ContentItem[];
}

export abstract class ContentItem {
  abstract readonly valueType: ValueType;
  readonly relationship?: RelationshipType;
  readonly name?: CodedConcept;
  readonly children: readonly ContentItem[];

  protected constructor(name: CodedConcept | undefined, opts: ItemOptions, nameRequired = true) {
    if (name !== undefined && !(name instanceof CodedConcept)) {
      throw new SrBuildError(`content item concept name must be a CodedConcept, got ${JSON.stringify(name)}`);
    }
    if (nameRequired && !name) throw new SrBuildError(`${this.constructor.name}: a concept name is required`);
    if (opts.relationship !== undefined && !RELATIONSHIPS.includes(opts.relationship)) {
      throw new SrBuildError(`${this.describe(name)}: unknown relationship type "${opts.relationship}"`);
    }
    this.name = name;
    this.relationship = opts.relationship;
    this.children = Object.freeze([...(opts.children ?? [])]);
  }

  /** Checks the children against this item's value type; called at the end of each constructor. */
  protected checkChildren(iod: SrIod = 'comprehensive3d'): void {
    for (const child of this.children) {
      if (!(child instanceof ContentItem)) {
        throw new SrBuildError(`${this.describe()}: child ${JSON.stringify(child)} is not a ContentItem`);
      }
      if (!child.relationship) {
        throw new SrBuildError(`${this.describe()}: child ${child.describe()} has no relationship type`);
      }
      if (!isRelationshipAllowed(this.valueType, child.relationship, child.valueType, iod)) {
        throw new SrBuildError(
          `${this.describe()}: relationship ${this.valueType} ${child.relationship} ${child.valueType} ` +
            `(child ${child.describe()}) is not allowed in a ${iod === 'comprehensive' ? 'Comprehensive' : 'Comprehensive 3D'} SR`,
        );
      }
    }
  }

  describe(name: CodedConcept | undefined = this.name): string {
    const vt = (this as { valueType?: ValueType }).valueType ?? this.constructor.name;
    return `${vt} ${name ? name.toString() : '(no concept name)'}`;
  }

  /** Children whose concept name is `name`. */
  find(name: CodedConcept): ContentItem[] {
    return this.children.filter((c) => name.equals(c.name));
  }

  protected abstract valueAttributes(): NaturalDataset;

  toDataset(): NaturalDataset {
    const ds: NaturalDataset = {};
    if (this.relationship) ds.RelationshipType = this.relationship;
    ds.ValueType = this.valueType;
    if (this.name) ds.ConceptNameCodeSequence = [this.name.toItem()];
    Object.assign(ds, this.valueAttributes());
    if (this.children.length > 0) ds.ContentSequence = this.children.map((c) => c.toDataset());
    return ds;
  }
}

export type Continuity = 'SEPARATE' | 'CONTINUOUS';

export interface TemplateId {
  templateIdentifier: string;
  mappingResource?: string;
}

export class ContainerItem extends ContentItem {
  readonly valueType = 'CONTAINER' as const;
  readonly continuity: Continuity;
  readonly template?: TemplateId;

  constructor(name: CodedConcept, opts: ItemOptions & { continuity?: Continuity; template?: TemplateId } = {}) {
    super(name, opts);
    this.continuity = opts.continuity ?? 'SEPARATE';
    if (this.continuity !== 'SEPARATE' && this.continuity !== 'CONTINUOUS') {
      throw new SrBuildError(`${this.describe()}: Continuity Of Content must be SEPARATE or CONTINUOUS`);
    }
    if (opts.template) this.template = opts.template;
    this.checkChildren();
  }

  protected valueAttributes(): NaturalDataset {
    const ds: NaturalDataset = { ContinuityOfContent: this.continuity };
    if (this.template) {
      ds.ContentTemplateSequence = [{
        MappingResource: this.template.mappingResource ?? 'DCMR',
        TemplateIdentifier: this.template.templateIdentifier,
      }];
    }
    return ds;
  }
}

export class CodeItem extends ContentItem {
  readonly valueType = 'CODE' as const;
  readonly value: CodedConcept;

  constructor(name: CodedConcept, value: CodedConcept, opts: ItemOptions) {
    super(name, opts);
    if (!(value instanceof CodedConcept)) {
      throw new SrBuildError(`${this.describe()}: value must be a CodedConcept, got ${JSON.stringify(value)}`);
    }
    this.value = value;
    this.checkChildren();
  }

  protected valueAttributes(): NaturalDataset {
    return { ConceptCodeSequence: [this.value.toItem()] };
  }
}

export class TextItem extends ContentItem {
  readonly valueType = 'TEXT' as const;
  readonly value: string;

  constructor(name: CodedConcept, value: string, opts: ItemOptions) {
    super(name, opts);
    if (typeof value !== 'string' || value.length === 0) {
      throw new SrBuildError(`${this.describe()}: Text Value must be a non-empty string, got ${JSON.stringify(value)}`);
    }
    this.value = value;
    this.checkChildren();
  }

  protected valueAttributes(): NaturalDataset {
    return { TextValue: this.value };
  }
}

export class UidRefItem extends ContentItem {
  readonly valueType = 'UIDREF' as const;
  readonly value: string;

  constructor(name: CodedConcept, value: string, opts: ItemOptions) {
    super(name, opts);
    if (typeof value !== 'string' || !isValidUid(value)) {
      throw new SrBuildError(`${this.describe()}: "${value}" is not a valid UID (digits and dots, at most 64 chars)`);
    }
    this.value = value;
    this.checkChildren();
  }

  protected valueAttributes(): NaturalDataset {
    return { UID: this.value };
  }
}

/**
 * A DS (Decimal String) of at most 16 characters for `x`: the shortest decimal that reads
 * back as the same double when there is one, else the closest that fits. dcmjs would
 * otherwise cut a longer string with only a console warning.
 */
export function formatDs(x: number): { ds: string; exact: boolean } {
  if (!Number.isFinite(x)) throw new SrBuildError(`DS value ${x} is not a finite number`);
  const shortest = String(x);
  if (shortest.length <= 16 && !/e/i.test(shortest)) return { ds: shortest, exact: true };
  for (let p = 17; p >= 1; p--) {
    let s = x.toPrecision(p);
    if (/e/i.test(s)) s = x.toExponential(p - 1).replace('e+', 'E').replace('e', 'E');
    if (s.length <= 16) return { ds: s, exact: Number(s) === x };
  }
  throw new SrBuildError(`DS value ${x} does not fit in 16 characters`);
}

export class NumItem extends ContentItem {
  readonly valueType = 'NUM' as const;
  readonly value: number;
  readonly unit: CodedConcept;

  constructor(name: CodedConcept, value: number, unit: CodedConcept, opts: ItemOptions) {
    super(name, opts);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new SrBuildError(`${this.describe()}: numeric value must be a finite number, got ${JSON.stringify(value)}`);
    }
    if (!(unit instanceof CodedConcept)) throw new SrBuildError(`${this.describe()}: units must be a CodedConcept`);
    if (unit.scheme !== 'UCUM') {
      throw new SrBuildError(`${this.describe()}: units must be a UCUM code (CID 82), got ${unit.toString()}`);
    }
    this.value = value;
    this.unit = unit;
    this.checkChildren();
  }

  protected valueAttributes(): NaturalDataset {
    const { ds, exact } = formatDs(this.value);
    const mv: NaturalDataset = { MeasurementUnitsCodeSequence: [this.unit.toItem()], NumericValue: ds };
    // Floating Point Value (type 1C): required when the DS cannot hold the value exactly.
    if (!exact) mv.FloatingPointValue = this.value;
    return { MeasuredValueSequence: [mv] };
  }
}

export interface ImageReference {
  sopClassUID: string;
  sopInstanceUID: string;
  /** 1-based frame numbers, for multi-frame images only */
  frames?: number[];
}

export class ImageItem extends ContentItem {
  readonly valueType = 'IMAGE' as const;
  readonly ref: ImageReference;

  /** IMAGE items may have no concept name (e.g. the target of SELECTED FROM, TID 1601 entries). */
  constructor(name: CodedConcept | undefined, ref: ImageReference, opts: ItemOptions) {
    super(name, opts, false);
    for (const k of ['sopClassUID', 'sopInstanceUID'] as const) {
      if (!ref || typeof ref[k] !== 'string' || !isValidUid(ref[k])) {
        throw new SrBuildError(`${this.describe()}: referenced ${k} "${ref?.[k]}" is not a valid UID`);
      }
    }
    if (ref.frames && !ref.frames.every((f) => Number.isInteger(f) && f >= 1)) {
      throw new SrBuildError(`${this.describe()}: frame numbers must be integers >= 1`);
    }
    this.ref = { ...ref };
    this.checkChildren();
  }

  protected valueAttributes(): NaturalDataset {
    const sop: NaturalDataset = {
      ReferencedSOPClassUID: this.ref.sopClassUID,
      ReferencedSOPInstanceUID: this.ref.sopInstanceUID,
    };
    if (this.ref.frames?.length) sop.ReferencedFrameNumber = this.ref.frames;
    return { ReferencedSOPSequence: [sop] };
  }
}

export type GraphicType = 'POINT' | 'MULTIPOINT' | 'POLYLINE' | 'CIRCLE' | 'ELLIPSE';
const POINT_COUNT: Record<GraphicType, (n: number) => boolean> = {
  POINT: (n) => n === 1,
  MULTIPOINT: (n) => n >= 1,
  POLYLINE: (n) => n >= 2,
  CIRCLE: (n) => n === 2,
  ELLIPSE: (n) => n === 4,
};

/**
 * 2D spatial coordinates in the image's pixel grid: (column, row) pairs, (0,0) at the
 * top-left corner of the top-left pixel. Graphic Data is FL: values are stored as float32.
 * A SCOORD must be SELECTED FROM exactly one IMAGE (PS3.3 C.18.6.1.2).
 */
export class ScoordItem extends ContentItem {
  readonly valueType = 'SCOORD' as const;
  readonly graphicType: GraphicType;
  readonly points: readonly (readonly [number, number])[];

  constructor(name: CodedConcept, graphicType: GraphicType, points: [number, number][], opts: ItemOptions) {
    super(name, opts);
    if (!(graphicType in POINT_COUNT)) {
      throw new SrBuildError(`${this.describe()}: graphic type "${graphicType}" is not one of ${Object.keys(POINT_COUNT).join(', ')}`);
    }
    if (!Array.isArray(points) || !POINT_COUNT[graphicType](points.length)) {
      throw new SrBuildError(`${this.describe()}: ${graphicType} cannot have ${points?.length} points`);
    }
    for (const p of points) {
      if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new SrBuildError(`${this.describe()}: point ${JSON.stringify(p)} is not a finite (column, row) pair`);
      }
      if (p.some((v) => Math.abs(v) > 3.4e38)) throw new SrBuildError(`${this.describe()}: point ${p} overflows float32`);
    }
    const sources = this.children.filter((c) => c.relationship === 'SELECTED FROM');
    if (sources.length !== 1 || !(sources[0] instanceof ImageItem)) {
      throw new SrBuildError(
        `${this.describe()}: a SCOORD needs exactly one SELECTED FROM IMAGE child naming the image its coordinates are in ` +
          `(found ${sources.length})`,
      );
    }
    this.graphicType = graphicType;
    this.points = points.map((p) => [p[0], p[1]] as const);
    this.checkChildren();
  }

  protected valueAttributes(): NaturalDataset {
    return { GraphicType: this.graphicType, GraphicData: this.points.flat() };
  }
}

// ---------------------------------------------------------------------------------------
// Tree-wide checks

/** Walks the tree and re-checks every relationship against the chosen IOD. */
export function checkTree(root: ContentItem, iod: SrIod): void {
  const walk = (item: ContentItem, path: string) => {
    for (const [i, child] of item.children.entries()) {
      const p = `${path}.${i + 1}`;
      if (!isRelationshipAllowed(item.valueType, child.relationship!, child.valueType, iod)) {
        throw new SrBuildError(
          `content item ${p} ${child.describe()}: ${item.valueType} ${child.relationship} ${child.valueType} is not allowed ` +
            `in a ${iod === 'comprehensive' ? 'Comprehensive' : 'Comprehensive 3D'} SR`,
        );
      }
      walk(child, p);
    }
  };
  if (iod === 'comprehensive' && root.valueType === 'SCOORD3D') throw new SrBuildError('SCOORD3D needs a Comprehensive 3D SR');
  walk(root, '1');
}

/** Every coded concept used in the tree (names, values, units), for the coding-scheme table. */
export function conceptsIn(root: ContentItem): CodedConcept[] {
  const out: CodedConcept[] = [];
  const walk = (item: ContentItem) => {
    if (item.name) out.push(item.name);
    if (item instanceof CodeItem) out.push(item.value);
    if (item instanceof NumItem) out.push(item.unit);
    item.children.forEach(walk);
  };
  walk(root);
  return out;
}

/** Every image the tree references. */
export function imagesIn(root: ContentItem): ImageReference[] {
  const out: ImageReference[] = [];
  const walk = (item: ContentItem) => {
    if (item instanceof ImageItem) out.push(item.ref);
    item.children.forEach(walk);
  };
  walk(root);
  return out;
}
