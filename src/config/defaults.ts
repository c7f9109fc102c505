import { fileURLToPath } from 'node:url';
import type { NodeConfig } from './types.js';

/** The package's own models/ folder: src/ and dist/ both sit one level below the package root. */
export const PACKAGE_MODELS_DIR = fileURLToPath(new URL('../../models', import.meta.url));

/**
 * The largest PDU dcmjs-dimse 0.3.3 will send (it cuts P-DATA at 4 MiB whatever the peer
 * announces), so announcing more than this to a peer gains nothing.
 */
export const MAX_PDU_LENGTH_LIMIT = 4_194_304;

/**
 * The embedded defaults: the same values as conf/default.yaml, so that `jointscore serve`
 * without a file behaves exactly as with the shipped file. Paths here are as written;
 * `loadConfig` makes them absolute (dataDir against the working directory, delivery.folder
 * and logging.file against dataDir).
 */
export const DEFAULT_CONFIG: NodeConfig = {
  dataDir: './data',
  dimse: {
    aeTitle: 'JOINTSCORE',
    bindAddress: '0.0.0.0',
    port: 11112,
    maxAssociations: 8,
    // dcmjs-dimse's own default, well below MAX_PDU_LENGTH_LIMIT.
    maxPduLength: 262_144,
    connectTimeoutS: 10,
    associationTimeoutS: 60,
    pduTimeoutS: 60,
    associationDeadlineS: 3600,
    // room for the results, the queue database and the logs of what is already received
    minFreeDiskMb: 1024,
    // Closed by default: patient data only from listed peers, or from this machine itself
    // (so that a first run with storescu on the same host works without editing anything).
    allowUnknownPeers: false,
    allowLoopbackPeers: true,
    allowedPeers: [],
    tls: { enabled: false, requireClientCert: false },
  },
  selection: {
    modalities: ['CR', 'DX'],
    sopClasses: [],
    bodyParts: ['HAND', 'FINGER', 'WRIST'],
    allowMissingBodyPart: true,
    seriesDescriptionExclude: [],
    lateralities: [],
    skipDeclaredViews: ['lateral', 'oblique'],
    skipDeclaredCasts: true,
    skipDeclaredBodyParts: true,
    skipForProcessing: true,
    skipDerivedCopies: true,
    minPatientAgeYears: 0,
    skippedRetentionHours: 24,
  },
  analysis: {
    modelsDir: PACKAGE_MODELS_DIR,
    provider: 'auto',
    outputs: { sr: true, sc: true, pr: true },
    reportNoHand: false,
    srClass: 'comprehensive3d',
    // uncompressed: every archive takes it (a 2048-pixel overlay is about 14 MB)
    overlaySyntax: 'explicit',
    // numbers above a modality's own, so the results sort after the images in a viewer
    seriesNumber: 9100,
    seriesDescription: 'jointscore hand joints (machine-made)',
    paViewsOnly: true,
    minGradingAgeYears: 16,
    // a 43 x 43 cm detector at 0.1 mm is 4300 x 4300 (18.5 M pixels, 37 MB at 16 bits)
    maxObjectMb: 512,
    maxPixels: 50_000_000,
    // a radiograph's header has a few dozen; dcmjs parses sequences recursively on the event loop
    maxSequenceItems: 10_000,
    maxAnalyses: 3,
  },
  delivery: {
    callingAeTitle: 'JOINTSCORE',
    destinations: [],
    folder: 'results',
    maxAttempts: 8,
    initialBackoffS: 5,
    maxBackoffS: 600,
    timeoutS: 30,
    associationsPerDestination: 2,
  },
  logging: {
    level: 'info',
    file: 'logs/jointscore.log',
    maxFileMb: 20,
    maxFiles: 5,
    includePatientIdentifiers: false,
  },
  http: { enabled: true, host: '127.0.0.1', port: 8080 },
};
