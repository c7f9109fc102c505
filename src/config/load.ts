import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import yaml from 'js-yaml';
import { isValidUid } from '../dicom/uid.js';
import { checkAeTitle, formatPeer, parsePeer } from '../dicom/peer.js';
import { DEFAULT_CONFIG, MAX_PDU_LENGTH_LIMIT, PACKAGE_MODELS_DIR } from './defaults.js';
import { ConfigError, type DestinationConfig, type NodeConfig, type TlsConfig } from './types.js';

/**
 * `jointscore serve`'s configuration: the embedded defaults, then the YAML file, then
 * JOINTSCORE_* environment variables, then command-line flags; each later source wins.
 * Every value is checked where it enters, so an error can name its source (file, variable
 * or flag); settings that depend on each other are checked once all sources are merged.
 */

/** The command-line flags of `serve` that override the configuration. */
export interface CliOverrides {
  aeTitle?: string;
  port?: string | number;
  dataDir?: string;
  /** http.port: a second node on one host needs its own */
  httpPort?: string | number;
  /** each `AE@host:port`; replaces the whole destination list */
  destinations?: string[];
  /** path of the configuration file */
  config?: string;
}

export interface LoadOptions {
  /** the YAML file; else `overrides.config`, else JOINTSCORE_CONFIG; none = embedded defaults */
  file?: string;
  /** defaults to process.env */
  env?: NodeJS.ProcessEnv;
  overrides?: CliOverrides;
}

/** The flag names used in error messages; the CLI should declare these spellings. */
export const CLI_FLAGS = {
  aeTitle: '--ae-title',
  port: '--port',
  dataDir: '--data-dir',
  httpPort: '--http-port',
  destinations: '--destination',
  config: '--config',
} as const;

export const ENV_PREFIX = 'JOINTSCORE_';
export const DESTINATIONS_ENV = 'JOINTSCORE_DESTINATIONS';
export const CONFIG_FILE_ENV = 'JOINTSCORE_CONFIG';
const DEFAULTS_SOURCE = 'built-in defaults';

/** A YAML file that does not parse: names the file and line, and shows the spot. */
export class YamlSyntaxError extends ConfigError {
  constructor(file: string, err: yaml.YAMLException) {
    const line = err.mark ? err.mark.line + 1 : 0;
    super('', err.mark?.snippet ?? '', `YAML syntax: ${err.reason}`, `${file}, line ${line}`);
    this.message = `${file}, line ${line}, column ${(err.mark?.column ?? 0) + 1}: YAML syntax error: ${err.reason}`;
    if (err.mark?.snippet) this.message += `\n${err.mark.snippet}`;
  }
}

// ---------------------------------------------------------------------------------------
// Fields: each leaf of the schema parses a raw value (YAML value or environment text).

/** Where a value comes from, and the folder its relative file names are relative to. */
interface Origin {
  source: string;
  baseDir: string;
}
interface Ctx extends Origin {
  key: string;
}
type Parse = (raw: unknown, ctx: Ctx) => unknown;

class Leaf {
  /** `scalar` leaves can also be set by an environment variable */
  constructor(
    readonly parse: Parse,
    readonly scalar = true,
  ) {}
}
interface Section {
  [key: string]: Leaf | Section;
}

function fail(ctx: Ctx, value: unknown, allowed: string): never {
  throw new ConfigError(ctx.key, value, allowed, ctx.source);
}

const isMapping = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function text(raw: unknown, ctx: Ctx, allowed: string): string {
  // YAML turns 104 or yes into a number or a boolean; say how to keep it text.
  if (typeof raw !== 'string') fail(ctx, raw, `${allowed} (a text: put it in quotes)`);
  return raw.trim();
}

function nonEmpty(what: string): Parse {
  return (raw, ctx) => text(raw, ctx, what) || fail(ctx, raw, `${what}, not empty`);
}

/** null or "" stand for "not set" (e.g. `file: ""` = console only). */
function optional(parse: Parse): Parse {
  return (raw, ctx) => (raw == null || (typeof raw === 'string' && raw.trim() === '') ? undefined : parse(raw, ctx));
}

const AE_RULE = 'an AE title has 1 to 16 characters, no backslash, no control characters';
const ae: Parse = (raw, ctx) => {
  const value = text(raw, ctx, AE_RULE);
  try {
    return checkAeTitle(value);
  } catch (err) {
    return fail(ctx, raw, `${(err as Error).message}; ${AE_RULE}`);
  }
};

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const host: Parse = (raw, ctx) => {
  const value = text(raw, ctx, 'an IP address or a host name');
  return isIP(value) || HOSTNAME.test(value) ? value : fail(ctx, raw, 'an IP address or a host name');
};

function num(min: number, max: number, integer: boolean, unit = ''): Parse {
  const allowed = `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}${unit}`;
  return (raw, ctx) => {
    // Text is accepted as well, because environment variables are text.
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
    const ok = Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n));
    return ok ? n : fail(ctx, raw, allowed);
  };
}
const port = num(1, 65535, true);
const seconds = num(1, 3600, false, ' (seconds)');

const TRUE = ['true', 'yes', '1'];
const FALSE = ['false', 'no', '0'];
const bool: Parse = (raw, ctx) => {
  if (typeof raw === 'boolean') return raw;
  const word = String(raw).trim().toLowerCase();
  if ((typeof raw === 'string' || typeof raw === 'number') && TRUE.includes(word)) return true;
  if ((typeof raw === 'string' || typeof raw === 'number') && FALSE.includes(word)) return false;
  return fail(ctx, raw, 'true or false (yes/no and 1/0 are accepted too)');
};

function oneOf(values: readonly string[], fold: (s: string) => string): Parse {
  const allowed = `one of ${values.join(', ')}`;
  return (raw, ctx) => {
    const value = fold(text(raw, ctx, allowed));
    return values.includes(value) ? value : fail(ctx, raw, allowed);
  };
}
const lower = (s: string) => s.toLowerCase();
const upper = (s: string) => s.toUpperCase();

// Modality and Body Part Examined are DICOM code strings (CS).
const CODE_RULE = 'a DICOM code string: 1 to 16 letters, digits, spaces or underscores (e.g. HAND)';
const code: Parse = (raw, ctx) => {
  const value = upper(text(raw, ctx, CODE_RULE));
  return /^[A-Z0-9 _]{1,16}$/.test(value) ? value : fail(ctx, raw, CODE_RULE);
};

const UID_RULE = 'a SOP Class UID: digits and dots, at most 64 characters (e.g. 1.2.840.10008.5.1.4.1.1.1.1)';
const uid: Parse = (raw, ctx) => {
  const value = text(raw, ctx, UID_RULE);
  return isValidUid(value) ? value : fail(ctx, raw, UID_RULE);
};

/** Room is left for the derived part: a root of more than 55 characters leaves under 8 digits. */
const uidRoot: Parse = (raw, ctx) => {
  const value = uid(raw, ctx) as string;
  return value.length <= 55 ? value : fail(ctx, raw, 'a UID root of at most 55 characters (the derived UIDs need at least 8 more digits)');
};

const LO_RULE = 'a text of 1 to 64 characters, no backslash, no control characters (DICOM LO)';
const longString: Parse = (raw, ctx) => {
  const value = text(raw, ctx, LO_RULE);
  // eslint-disable-next-line no-control-regex
  return value.length >= 1 && value.length <= 64 && !/[\\\x00-\x1f\x7f]/.test(value) ? value : fail(ctx, raw, LO_RULE);
};

const regex: Parse = (raw, ctx) => {
  const value = text(raw, ctx, 'a regular expression');
  try {
    // Compiled as the selection will use it: case-insensitive.
    new RegExp(value, 'i');
    return value;
  } catch (err) {
    return fail(ctx, raw, `a regular expression in JavaScript syntax (${(err as Error).message})`);
  }
};

/** A file the operator points at: relative to the configuration file (or the working directory). */
const fileIn: Parse = (raw, ctx) => resolve(ctx.baseDir, nonEmpty('a file path')(raw, ctx) as string);

/** Empty = the models shipped with the package, so a copied default.yaml keeps working. */
const modelsDir: Parse = (raw, ctx) => optional(fileIn)(raw, ctx) ?? PACKAGE_MODELS_DIR;

/** Folders the node writes to: relative to the working directory, as the operator expects of a CLI. */
const dataDir: Parse = (raw, ctx) => resolve(process.cwd(), nonEmpty('a folder path')(raw, ctx) as string);

function listOf(item: Parse, what: string): Leaf {
  return new Leaf((raw, ctx) => {
    if (raw == null) return []; // every item commented out
    if (!Array.isArray(raw)) fail(ctx, raw, `a list of ${what} (one "- item" per line, or [] for none)`);
    return raw.map((v, i) => item(v, { ...ctx, key: `${ctx.key}[${i}]` }));
  }, false);
}

// ---------------------------------------------------------------------------------------
// The schema: the shape of NodeConfig, one parser per key.

const TLS_SCHEMA: Section = {
  enabled: new Leaf(bool),
  keyFile: new Leaf(optional(fileIn)),
  certFile: new Leaf(optional(fileIn)),
  caFile: new Leaf(optional(fileIn)),
  requireClientCert: new Leaf(bool),
};
const tlsOff = (): TlsConfig => ({ enabled: false, requireClientCert: false });

const ALLOWED_PEER_SCHEMA: Section = { aeTitle: new Leaf(ae), host: new Leaf(optional(host)) };
const DESTINATION_SCHEMA: Section = {
  name: new Leaf(optional(nonEmpty('a name'))),
  aeTitle: new Leaf(ae),
  host: new Leaf(host),
  port: new Leaf(port),
  tls: TLS_SCHEMA,
};

const SCHEMA: Section = {
  dataDir: new Leaf(dataDir),
  dimse: {
    aeTitle: new Leaf(ae),
    bindAddress: new Leaf(host),
    port: new Leaf(port),
    maxAssociations: new Leaf(num(1, 256, true)),
    maxPduLength: new Leaf(num(4096, MAX_PDU_LENGTH_LIMIT, true, ' (bytes)')),
    connectTimeoutS: new Leaf(seconds),
    associationTimeoutS: new Leaf(seconds),
    pduTimeoutS: new Leaf(seconds),
    associationDeadlineS: new Leaf(seconds),
    minFreeDiskMb: new Leaf(num(0, 1_048_576, false, ' (MB)')),
    allowUnknownPeers: new Leaf(bool),
    allowLoopbackPeers: new Leaf(bool),
    allowedPeers: listOf(mappingItem(ALLOWED_PEER_SCHEMA, () => ({}), ['aeTitle']), 'peers (aeTitle, host)'),
    tls: TLS_SCHEMA,
  },
  selection: {
    modalities: listOf(code, 'modality codes'),
    sopClasses: listOf(uid, 'SOP Class UIDs'),
    bodyParts: listOf(code, 'body part codes'),
    allowMissingBodyPart: new Leaf(bool),
    seriesDescriptionExclude: listOf(regex, 'regular expressions'),
    lateralities: listOf(oneOf(['L', 'R', 'B', 'U'], upper), 'lateralities'),
    skipDeclaredViews: listOf(oneOf(['lateral', 'oblique'], lower), 'views (lateral, oblique)'),
    skipDeclaredCasts: new Leaf(bool),
    skipDeclaredBodyParts: new Leaf(bool),
    skipForProcessing: new Leaf(bool),
    skipDerivedCopies: new Leaf(bool),
    minPatientAgeYears: new Leaf(num(0, 120, false, ' (years)')),
    skippedRetentionHours: new Leaf(num(0, 8760, false, ' (hours)')),
  },
  analysis: {
    modelsDir: new Leaf(modelsDir),
    provider: new Leaf(oneOf(['cpu', 'cuda', 'auto'], lower)),
    outputs: { sr: new Leaf(bool), sc: new Leaf(bool), pr: new Leaf(bool) },
    reportNoHand: new Leaf(bool),
    uidRoot: new Leaf(optional(uidRoot)),
    srClass: new Leaf(oneOf(['comprehensive3d', 'comprehensive'], lower)),
    overlaySyntax: new Leaf(oneOf(['explicit', 'rle', 'jpeg-ls', 'jpeg-lossless'], lower)),
    // Series Number is IS (at most 2^31 - 1); the overlay and presentation state take the next two
    seriesNumber: new Leaf(num(1, 2_147_483_645, true)),
    seriesDescription: new Leaf(longString),
    paViewsOnly: new Leaf(bool),
    minGradingAgeYears: new Leaf(num(0, 120, false, ' (years)')),
    maxObjectMb: new Leaf(num(1, 16384, false, ' (MB)')),
    maxPixels: new Leaf(num(1_000_000, 1_000_000_000, true, ' (pixels)')),
    maxSequenceItems: new Leaf(num(100, 1_000_000, true)),
    maxAnalyses: new Leaf(num(1, 100, true)),
  },
  delivery: {
    callingAeTitle: new Leaf(ae),
    destinations: listOf(destinationItem, 'destinations (aeTitle, host, port; or "AE@host:port")'),
    folder: new Leaf(optional(nonEmpty('a folder path'))),
    maxAttempts: new Leaf(num(1, 1000, true)),
    initialBackoffS: new Leaf(num(1, 86400, false, ' (seconds)')),
    maxBackoffS: new Leaf(num(1, 86400, false, ' (seconds)')),
    timeoutS: new Leaf(seconds),
    associationsPerDestination: new Leaf(num(1, 16, true)),
  },
  logging: {
    level: new Leaf(oneOf(['error', 'warn', 'info', 'debug'], lower)),
    file: new Leaf(optional(nonEmpty('a file path'))),
    maxFileMb: new Leaf(num(1, 10240, true, ' (MB)')),
    maxFiles: new Leaf(num(1, 1000, true)),
    includePatientIdentifiers: new Leaf(bool),
  },
  http: { enabled: new Leaf(bool), host: new Leaf(host), port: new Leaf(port) },
};

/** A list item that is a mapping checked against its own schema. */
function mappingItem(schema: Section, make: () => Record<string, unknown>, required: string[]): Parse {
  return (raw, ctx) => {
    if (!isMapping(raw)) fail(ctx, raw, `a mapping with the keys ${Object.keys(schema).join(', ')}`);
    const item = make();
    applyMapping(item, raw, schema, ctx.key, ctx, new Map());
    for (const key of required) {
      if (item[key] === undefined) fail({ ...ctx, key: `${ctx.key}.${key}` }, undefined, 'required');
    }
    return item;
  };
}

const destinationMapping = mappingItem(DESTINATION_SCHEMA, () => ({ tls: tlsOff() }), ['aeTitle', 'host', 'port']);

/** A destination as a mapping, or in the short form `AE@host:port` of the CLI and environment. */
function destinationItem(raw: unknown, ctx: Ctx): DestinationConfig {
  const dest = (typeof raw === 'string' ? peerDestination(raw, ctx) : destinationMapping(raw, ctx)) as DestinationConfig;
  dest.name ??= formatPeer(dest);
  checkTls(dest.tls, `${ctx.key}.tls`, ctx.source, false);
  return dest;
}

function peerDestination(raw: string, ctx: Ctx): DestinationConfig {
  try {
    const peer = parsePeer(raw.trim());
    return { name: formatPeer(peer), ...peer, tls: tlsOff() };
  } catch (err) {
    return fail(ctx, raw, (err as Error).message);
  }
}

// ---------------------------------------------------------------------------------------
// Merging.

type Sources = Map<string, string>;
type Tree = Record<string, unknown>;

function record(sources: Sources, key: string, source: string): void {
  // Re-inserting keeps the map in the order values were last set.
  sources.delete(key);
  sources.set(key, source);
}

function setLeaf(target: Tree, name: string, leaf: Leaf, raw: unknown, ctx: Ctx, sources: Sources): void {
  const value = leaf.parse(raw, ctx);
  if (value === undefined) delete target[name];
  else target[name] = value;
  record(sources, ctx.key, ctx.source);
}

function applyMapping(target: Tree, raw: unknown, schema: Section, prefix: string, origin: Origin, sources: Sources): void {
  if (raw == null) return; // a section whose keys are all commented out
  const known = Object.keys(schema);
  if (!isMapping(raw)) fail({ ...origin, key: prefix || '(top level)' }, raw, `a mapping with the keys ${known.join(', ')}`);
  for (const [name, value] of Object.entries(raw)) {
    const key = prefix ? `${prefix}.${name}` : name;
    const field = schema[name];
    if (!field) throw unknownKey(key, value, known, origin.source, prefix);
    if (field instanceof Leaf) setLeaf(target, name, field, value, { ...origin, key }, sources);
    else applyMapping(target[name] as Tree, value, field, key, origin, sources);
  }
}

function unknownKey(key: string, value: unknown, known: string[], source: string, section: string): ConfigError {
  const name = key.slice(key.lastIndexOf('.') + 1);
  const near = closest(name, known);
  const hint = near ? `did you mean "${near}"? ` : '';
  return new ConfigError(key, value, `unknown key; ${hint}the keys of ${section || 'the top level'} are ${known.join(', ')}`, source);
}

/** The known name within two edits of a typo, if any. */
function closest(word: string, known: string[]): string | undefined {
  const scored = known.map((k) => ({ k, d: editDistance(word.toLowerCase(), k.toLowerCase()) }));
  const best = scored.sort((a, b) => a.d - b.d)[0];
  return best && best.d <= 2 ? best.k : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

// ---------------------------------------------------------------------------------------
// Environment variables.

const snake = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

interface EnvKey {
  path: string[];
  leaf: Leaf;
}

function envTable(schema: Section, path: string[] = [], table = new Map<string, EnvKey>()): Map<string, EnvKey> {
  for (const [name, field] of Object.entries(schema)) {
    const here = [...path, name];
    if (field instanceof Leaf) {
      if (field.scalar) table.set(ENV_PREFIX + here.map(snake).join('_'), { path: here, leaf: field });
    } else envTable(field, here, table);
  }
  return table;
}

const ENV_TABLE = envTable(SCHEMA);
/** First words that mark a variable as configuration (DIMSE, ..., DATA); others (TEST, BENCH, LOG, CONFIG) are not. */
const ENV_SECTIONS = new Set([...ENV_TABLE.keys()].map(envSection));

function envSection(name: string): string {
  return name.slice(ENV_PREFIX.length).split('_')[0];
}

/** Every configuration variable and the key it sets (for help texts and docs). */
export const CONFIG_ENV_VARIABLES: Readonly<Record<string, string>> = Object.fromEntries([
  ...[...ENV_TABLE].map(([name, { path }]) => [name, path.join('.')]),
  [DESTINATIONS_ENV, 'delivery.destinations'],
]);

function applyEnv(config: Tree, env: NodeJS.ProcessEnv, sources: Sources): void {
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    // An empty variable counts as unset: compose files and shells export them freely.
    if (!name.startsWith(ENV_PREFIX) || raw === undefined || raw.trim() === '') continue;
    const origin = { source: `environment ${name}`, baseDir: process.cwd() };
    if (name === DESTINATIONS_ENV) setDestinations(config, raw.split(','), origin, sources);
    else if (ENV_TABLE.has(name)) setPath(config, ENV_TABLE.get(name)!, raw, origin, sources);
    else if (ENV_SECTIONS.has(envSection(name))) throw unknownEnv(name, raw);
  }
}

function unknownEnv(name: string, raw: string): ConfigError {
  const section = envSection(name);
  const known = Object.keys(CONFIG_ENV_VARIABLES).filter((k) => envSection(k) === section || (section === 'DELIVERY' && k === DESTINATIONS_ENV));
  const near = closest(name, known);
  const hint = near ? `did you mean ${near}? ` : '';
  return new ConfigError(name, raw, `unknown configuration variable; ${hint}the known ones are ${known.join(', ')}`, 'environment');
}

function setPath(config: Tree, { path, leaf }: EnvKey, raw: unknown, origin: Origin, sources: Sources): void {
  let target = config;
  for (const name of path.slice(0, -1)) target = target[name] as Tree;
  setLeaf(target, path[path.length - 1], leaf, raw, { ...origin, key: path.join('.') }, sources);
}

function setDestinations(config: Tree, values: string[], origin: Origin, sources: Sources): void {
  const key = 'delivery.destinations';
  const items = values.map((v) => v.trim()).filter((v) => v !== '');
  (config.delivery as Tree).destinations = items.map((v, i) => destinationItem(v, { ...origin, key: `${key}[${i}]` }));
  record(sources, key, origin.source);
}

// ---------------------------------------------------------------------------------------
// Command-line flags.

function applyCli(config: Tree, cli: CliOverrides, sources: Sources): void {
  const at = (source: string): Origin => ({ source, baseDir: process.cwd() });
  const set = (key: string, raw: unknown, flag: string) => setPath(config, keyOf(key), raw, at(flag), sources);
  if (cli.aeTitle !== undefined) set('dimse.aeTitle', cli.aeTitle, CLI_FLAGS.aeTitle);
  if (cli.port !== undefined) set('dimse.port', String(cli.port), CLI_FLAGS.port);
  if (cli.dataDir !== undefined) set('dataDir', cli.dataDir, CLI_FLAGS.dataDir);
  if (cli.httpPort !== undefined) set('http.port', String(cli.httpPort), CLI_FLAGS.httpPort);
  if (cli.destinations !== undefined) setDestinations(config, cli.destinations, at(CLI_FLAGS.destinations), sources);
}

function keyOf(dotted: string): EnvKey {
  return [...ENV_TABLE.values()].find((e) => e.path.join('.') === dotted)!;
}

// ---------------------------------------------------------------------------------------
// The file.

function chooseFile(opts: LoadOptions, env: NodeJS.ProcessEnv): { file: string; source: string } | undefined {
  if (opts.file) return { file: opts.file, source: 'loadConfig' };
  if (opts.overrides?.config) return { file: opts.overrides.config, source: CLI_FLAGS.config };
  const fromEnv = env[CONFIG_FILE_ENV]?.trim();
  return fromEnv ? { file: fromEnv, source: `environment ${CONFIG_FILE_ENV}` } : undefined;
}

function readYaml(file: string, source: string): unknown {
  let body: string;
  try {
    body = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('config', file, `a readable YAML file (${(err as Error).message})`, source);
  }
  try {
    // CORE_SCHEMA: no timestamps or other surprises, values stay numbers, booleans, text.
    return yaml.load(body, { filename: file, schema: yaml.CORE_SCHEMA });
  } catch (err) {
    if (err instanceof yaml.YAMLException) throw new YamlSyntaxError(file, err);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// Settings that depend on each other, checked once every source is merged.

function sourceOf(sources: Sources, prefix: string): string {
  let found = DEFAULTS_SOURCE;
  for (const [key, source] of sources) if (key === prefix || key.startsWith(prefix + '.')) found = source;
  return found;
}

function checkTls(tls: TlsConfig, prefix: string, source: string, listener: boolean): void {
  const ctx = (key: string): Ctx => ({ key: `${prefix}.${key}`, source, baseDir: '' });
  if (!listener && tls.requireClientCert) fail(ctx('requireClientCert'), true, 'false: it applies to the node\'s own listener (dimse.tls) only');
  if (!tls.enabled) return;
  if (listener && !tls.keyFile) fail(ctx('keyFile'), tls.keyFile, `a PEM private key file, required when ${prefix}.enabled is true`);
  if (listener && !tls.certFile) fail(ctx('certFile'), tls.certFile, `a PEM certificate file, required when ${prefix}.enabled is true`);
  if (!tls.keyFile !== !tls.certFile) fail(ctx(tls.keyFile ? 'certFile' : 'keyFile'), undefined, 'keyFile and certFile go together: set both or neither');
  for (const name of ['keyFile', 'certFile', 'caFile'] as const) {
    const file = tls[name];
    if (file && !existsSync(file)) fail(ctx(name), file, 'an existing PEM file (relative paths are relative to the configuration file)');
  }
}

function checkCombined(c: NodeConfig, sources: Sources): void {
  const ctx = (key: string): Ctx => ({ key, source: sourceOf(sources, key), baseDir: '' });
  const { outputs } = c.analysis;
  if (!outputs.sr && !outputs.sc && !outputs.pr) fail(ctx('analysis.outputs'), outputs, 'at least one of sr, sc, pr must be true');
  if (c.analysis.reportNoHand && !outputs.sr) {
    fail(ctx('analysis.reportNoHand'), true, 'it needs analysis.outputs.sr: true (the no-hand report is an SR): set outputs.sr to true or reportNoHand to false');
  }
  checkTls(c.dimse.tls, 'dimse.tls', sourceOf(sources, 'dimse.tls'), true);
  if (!c.dimse.allowUnknownPeers && !c.dimse.allowLoopbackPeers && c.dimse.allowedPeers.length === 0) {
    fail(ctx('dimse.allowedPeers'), [], 'at least one peer when dimse.allowUnknownPeers and dimse.allowLoopbackPeers are false (else nothing can connect)');
  }
  if (c.delivery.maxBackoffS < c.delivery.initialBackoffS) {
    fail(ctx('delivery.maxBackoffS'), c.delivery.maxBackoffS, `at least delivery.initialBackoffS (${c.delivery.initialBackoffS})`);
  }
  checkDestinations(c.delivery, ctx);
}

function checkDestinations(d: NodeConfig['delivery'], ctx: (key: string) => Ctx): void {
  if (d.destinations.length === 0 && !d.folder) {
    fail(ctx('delivery.folder'), d.folder, 'a folder when there is no destination (else every result would be thrown away)');
  }
  const seen = new Set<string>();
  d.destinations.forEach((dest, i) => {
    if (seen.has(dest.name)) fail(ctx(`delivery.destinations[${i}].name`), dest.name, 'a name not used by another destination');
    seen.add(dest.name);
  });
}

/** dataDir is absolute after parsing; the folders inside it become absolute too. */
function resolvePaths(c: NodeConfig): void {
  c.dataDir = resolve(process.cwd(), c.dataDir);
  if (c.delivery.folder) c.delivery.folder = resolve(c.dataDir, c.delivery.folder);
  if (c.logging.file) c.logging.file = resolve(c.dataDir, c.logging.file);
}

// ---------------------------------------------------------------------------------------

/**
 * The configuration for `serve`: defaults < YAML file < JOINTSCORE_* variables < flags.
 * Throws ConfigError naming the key, the value, what is allowed, and where it was set.
 * Paths in the result are absolute.
 */
export function loadConfig(opts: LoadOptions = {}): NodeConfig {
  const env = opts.env ?? process.env;
  const config = structuredClone(DEFAULT_CONFIG) as unknown as Tree;
  const sources: Sources = new Map();
  const chosen = chooseFile(opts, env);
  if (chosen) {
    const origin = { source: chosen.file, baseDir: dirname(resolve(chosen.file)) };
    applyMapping(config, readYaml(chosen.file, chosen.source), SCHEMA, '', origin, sources);
  }
  applyEnv(config, env, sources);
  applyCli(config, opts.overrides ?? {}, sources);
  const result = config as unknown as NodeConfig;
  checkCombined(result, sources);
  resolvePaths(result);
  return result;
}

/** Every key of the schema, dotted (`dimse.tls.enabled`); lists count as one key. */
export function configKeys(schema: Section = SCHEMA, prefix = ''): string[] {
  return Object.entries(schema).flatMap(([name, field]) => {
    const key = prefix ? `${prefix}.${name}` : name;
    return field instanceof Leaf ? [key] : configKeys(field, key);
  });
}

/** What the node runs with, for the start-up log line; nothing in a configuration is secret. */
export function describeConfig(c: NodeConfig): Record<string, unknown> {
  const { dimse, selection, analysis, delivery, logging, http } = c;
  return {
    dataDir: c.dataDir,
    listen: `${dimse.aeTitle}@${dimse.bindAddress}:${dimse.port}${dimse.tls.enabled ? ' (TLS)' : ''}`,
    maxAssociations: dimse.maxAssociations,
    allowUnknownPeers: dimse.allowUnknownPeers,
    allowLoopbackPeers: dimse.allowLoopbackPeers,
    allowedPeers: dimse.allowedPeers.map((p) => (p.host ? `${p.aeTitle}@${p.host}` : p.aeTitle)),
    selection: { ...selection },
    modelsDir: analysis.modelsDir,
    provider: analysis.provider,
    outputs: Object.entries(analysis.outputs).filter(([, on]) => on).map(([name]) => name),
    reportNoHand: analysis.reportNoHand,
    callingAeTitle: delivery.callingAeTitle,
    destinations: delivery.destinations.map((d) => `${d.name}${d.name === formatPeer(d) ? '' : ` (${formatPeer(d)})`}${d.tls.enabled ? ' (TLS)' : ''}`),
    resultsFolder: delivery.destinations.length === 0 ? delivery.folder : undefined,
    retries: `${delivery.maxAttempts} attempts, ${delivery.initialBackoffS}-${delivery.maxBackoffS} s apart`,
    logging: { level: logging.level, file: logging.file ?? 'console only', includePatientIdentifiers: logging.includePatientIdentifiers },
    http: http.enabled ? `${http.host}:${http.port}` : 'off',
  };
}
