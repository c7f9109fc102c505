import { JointscoreError } from '../errors.js';
/**
 * The node's configuration, as `conf/default.yaml` writes it and `loadConfig` validates
 * it. Every stage receives only the part it needs (a `DimseConfig`, a `DeliveryConfig`),
 * so no stage reads the file or the environment itself.
 */

export interface TlsConfig {
  enabled: boolean;
  /** PEM files; relative paths are resolved against the configuration file's folder */
  keyFile?: string;
  certFile?: string;
  caFile?: string;
  /** for the SCP: ask the calling peer for a certificate and refuse it without one */
  requireClientCert: boolean;
}

/** A peer allowed to open associations to the node. Empty host = any host. */
export interface AllowedPeer {
  aeTitle: string;
  host?: string;
}

export interface DimseConfig {
  aeTitle: string;
  /** address to bind; 0.0.0.0 for every interface */
  bindAddress: string;
  port: number;
  /** associations at once; one more is rejected (A-ASSOCIATE-RJ transient, local limit exceeded) */
  maxAssociations: number;
  /** the largest P-DATA PDU the node receives */
  maxPduLength: number;
  connectTimeoutS: number;
  associationTimeoutS: number;
  pduTimeoutS: number;
  /** an association is cut (A-ABORT) after this long whatever it does: one that trickles bytes (slowloris) never goes idle */
  associationDeadlineS: number;
  /** C-STOREs are answered A700 (out of resources) while the disk holding dataDir has less free than this: the sender keeps its copy and retries, and the node never fills its disk */
  minFreeDiskMb: number;
  /** accept associations from peers not listed in `allowedPeers` */
  allowUnknownPeers: boolean;
  /** accept any calling AE title connecting from this machine (127.0.0.0/8, ::1): a first run, a local router */
  allowLoopbackPeers: boolean;
  allowedPeers: AllowedPeer[];
  tls: TlsConfig;
}

/** One rule of the selection: every field that is set must match (case-insensitive). */
export interface SelectionConfig {
  /** Modality (0008,0060); empty = any */
  modalities: string[];
  /** SOP Class UIDs analysed; empty = any image storage class the node accepts */
  sopClasses: string[];
  /** Body Part Examined (0018,0015); empty = any. An object without the attribute passes only if `allowMissingBodyPart`. */
  bodyParts: string[];
  allowMissingBodyPart: boolean;
  /** Series Description (0008,103E) must NOT match any of these regular expressions */
  seriesDescriptionExclude: string[];
  /** Image Laterality (0020,0062) / Laterality (0020,0060); empty = any (L, R, B, U) */
  lateralities: string[];
  /** views the image's header may declare (View Position, View Code Sequence) that are skipped; empty = the pixels alone judge the view */
  skipDeclaredViews: ('lateral' | 'oblique')[];
  /** skip images whose Series Description, Protocol Name or Study Description names a cast ("in plaster", "POP", "Gips", ...) */
  skipDeclaredCasts: boolean;
  /** skip images whose Body Part Examined names no hand part and whose descriptions name another body part ("FEET DP") and no hand */
  skipDeclaredBodyParts: boolean;
  /** skip raw detector images (DX For Processing, Presentation Intent Type FOR PROCESSING): the For Presentation copy is read */
  skipForProcessing: boolean;
  /** skip copies made from another image (Image Type DERIVED\SECONDARY with a Source Image Sequence): the source is read */
  skipDerivedCopies: boolean;
  /** younger patients are not graded (growth plates); 0 = any age. Age from Patient's Age, else Birth Date and Study Date */
  minPatientAgeYears: number;
  /** hours a skipped object stays in the spool before it is removed */
  skippedRetentionHours: number;
}

/** The overlay's transfer syntaxes (src/reports/overlay-syntax.ts): Explicit VR Little Endian, RLE, JPEG-LS, JPEG Lossless SV1. */
export type OverlaySyntaxName = 'explicit' | 'rle' | 'jpeg-ls' | 'jpeg-lossless';

export interface AnalysisConfig {
  /** folder holding jointscore-detector/ and jointscore-grader/ (or a site's own) */
  modelsDir: string;
  provider: 'cpu' | 'cuda' | 'auto';
  /** the SR, the overlay and the presentation state; at least one */
  outputs: { sr: boolean; sc: boolean; pr: boolean };
  /** write an SR stating "no hand found" for an image with no hand, instead of nothing */
  reportNoHand: boolean;
  /** the root the result objects' UIDs are derived under; unset = `2.25.` (a UUID) */
  uidRoot?: string;
  /** the SR's SOP class: Comprehensive 3D SR (88.34), or Comprehensive SR (88.33) for archives without 88.34 */
  srClass: 'comprehensive3d' | 'comprehensive';
  /** the overlay's (Secondary Capture's) transfer syntax: uncompressed, or one of three lossless compressions the archive must accept */
  overlaySyntax: OverlaySyntaxName;
  /** the SR's Series Number; the overlay gets the next, the presentation state the one after */
  seriesNumber: number;
  /** the result series' Series Description (LO: at most 64 characters) */
  seriesDescription: string;
  /** grade only hands whose joints lie as in a PA view (src/inference/view.ts); others are named, not graded */
  paViewsOnly: boolean;
  /** hands of younger patients, or showing open growth plates, are found but not graded (skeletally immature); 0 = grade every age */
  minGradingAgeYears: number;
  /** larger received objects are not read into memory for analysis (quarantined with the reason) */
  maxObjectMb: number;
  /** images with more pixels (Rows x Columns x frames) are not decoded (quarantined with the reason) */
  maxPixels: number;
  /** objects with more sequence items before the pixel data are not parsed (quarantined with the reason): dcmjs parses nesting recursively and would hold the event loop */
  maxSequenceItems: number;
  /** an object the node stopped (crashed, was killed) while analysing this many times fails with the reason instead of being tried again at every start */
  maxAnalyses: number;
}

export interface DestinationConfig {
  /** a name for logs and the queue (defaults to AE@host:port) */
  name: string;
  aeTitle: string;
  host: string;
  port: number;
  tls: TlsConfig;
}

export interface DeliveryConfig {
  /** the AE title the node calls from */
  callingAeTitle: string;
  destinations: DestinationConfig[];
  /** with no destination, results are written here (absolute, or relative to dataDir) */
  folder?: string;
  maxAttempts: number;
  initialBackoffS: number;
  maxBackoffS: number;
  /** seconds to wait for an association and for each C-STORE-RSP */
  timeoutS: number;
  /** associations opened at once to one destination, the due files shared out among them by size */
  associationsPerDestination: number;
}

export interface LoggingConfig {
  level: 'error' | 'warn' | 'info' | 'debug';
  /** rotating JSON log file (relative to dataDir); empty = console only */
  file?: string;
  maxFileMb: number;
  maxFiles: number;
  /** log patient names and IDs; off by default, logs carry UIDs only */
  includePatientIdentifiers: boolean;
}

export interface HttpConfig {
  enabled: boolean;
  /** loopback by default: /metrics and /healthz are for the host's own monitoring */
  host: string;
  port: number;
}

export interface NodeConfig {
  /** spool, queue database, results folder, logs; created if missing */
  dataDir: string;
  dimse: DimseConfig;
  selection: SelectionConfig;
  analysis: AnalysisConfig;
  delivery: DeliveryConfig;
  logging: LoggingConfig;
  http: HttpConfig;
}

/** Raised for any wrong setting: names the key, the value and what is allowed. */
export class ConfigError extends JointscoreError {
  readonly kind = 'config' as const;
  constructor(
    readonly key: string,
    readonly value: unknown,
    readonly allowed: string,
    readonly source?: string,
  ) {
    super(`${source ? source + ': ' : ''}${key} = ${JSON.stringify(value)} is not valid: ${allowed}`);
  }
}
