import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, PACKAGE_MODELS_DIR } from '../src/config/defaults.js';
import { CONFIG_ENV_VARIABLES, configKeys, describeConfig, loadConfig } from '../src/config/load.js';
import { ConfigError, type NodeConfig } from '../src/config/types.js';

const DEFAULT_FILE = resolve('conf/default.yaml');

const made: string[] = [];
afterAll(() => made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jointscore-config-'));
  made.push(dir);
  return dir;
}

/** Writes a configuration file into a fresh folder and returns its path. */
function confFile(body: string, dir = tempDir()): string {
  const file = join(dir, 'node.yaml');
  writeFileSync(file, body);
  return file;
}

/** Runs `load`, expects a ConfigError, and checks that its message carries every fragment. */
function expectConfigError(load: () => unknown, fragments: string[]): ConfigError {
  let caught: unknown;
  try {
    load();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const message = (caught as Error).message;
  for (const fragment of fragments) expect(message).toContain(fragment);
  return caught as ConfigError;
}

/** The dotted keys of a parsed YAML tree (a list is one key, as in configKeys()). */
function treeKeys(tree: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([name, value]) => {
    const key = prefix ? `${prefix}.${name}` : name;
    const nested = value !== null && typeof value === 'object' && !Array.isArray(value);
    return nested ? treeKeys(value as Record<string, unknown>, key) : [key];
  });
}

describe('the default configuration', () => {
  it('embedded defaults load with paths made absolute, and DEFAULT_CONFIG is left alone', () => {
    const before = structuredClone(DEFAULT_CONFIG);
    const config = loadConfig({ env: {} });
    const dataDir = resolve('data');
    const expected: NodeConfig = {
      ...before,
      dataDir,
      delivery: { ...before.delivery, folder: join(dataDir, 'results') },
      logging: { ...before.logging, file: join(dataDir, 'logs', 'jointscore.log') },
    };
    expect(config).toEqual(expected);
    expect(DEFAULT_CONFIG).toEqual(before);
    expect(config.dimse).not.toBe(DEFAULT_CONFIG.dimse);
  });

  it('conf/default.yaml loads to exactly the embedded defaults', () => {
    expect(loadConfig({ file: DEFAULT_FILE, env: {} })).toEqual(loadConfig({ env: {} }));
  });

  it('conf/default.yaml writes every key, and only known keys', () => {
    const tree = yaml.load(readFileSync(DEFAULT_FILE, 'utf8')) as Record<string, unknown>;
    expect(treeKeys(tree).sort()).toEqual(configKeys().sort());
  });

  it('the models folder is the package one', () => {
    expect(DEFAULT_CONFIG.analysis.modelsDir).toBe(PACKAGE_MODELS_DIR);
    expect(existsSync(join(PACKAGE_MODELS_DIR, 'jointscore-detector'))).toBe(true);
  });
});

describe('sources and their order', () => {
  const file = () =>
    confFile(['dimse:', '  aeTitle: FILEAE', '  port: 2000', 'delivery:', '  destinations:', '    - FILEPACS@10.0.0.1:104'].join('\n'));

  it('the file overrides the defaults', () => {
    const c = loadConfig({ file: file(), env: {} });
    expect(c.dimse.aeTitle).toBe('FILEAE');
    expect(c.dimse.port).toBe(2000);
    expect(c.dimse.maxAssociations).toBe(8);
    expect(c.delivery.destinations.map((d) => d.name)).toEqual(['FILEPACS@10.0.0.1:104']);
  });

  it('environment variables override the file, flags override both', () => {
    const env = { JOINTSCORE_DIMSE_PORT: '3000', JOINTSCORE_DESTINATIONS: 'ENVPACS@10.0.0.2:104, ENVARCH@archive:11112' };
    const fromEnv = loadConfig({ file: file(), env });
    expect(fromEnv.dimse.port).toBe(3000);
    expect(fromEnv.dimse.aeTitle).toBe('FILEAE');
    expect(fromEnv.delivery.destinations.map((d) => d.name)).toEqual(['ENVPACS@10.0.0.2:104', 'ENVARCH@archive:11112']);

    const dataDir = tempDir();
    const overrides = { port: '4000', aeTitle: 'CLIAE', dataDir, destinations: ['CLIPACS@10.0.0.3:104'] };
    const fromCli = loadConfig({ file: file(), env, overrides });
    expect(fromCli.dimse.port).toBe(4000);
    expect(fromCli.dimse.aeTitle).toBe('CLIAE');
    expect(fromCli.dataDir).toBe(dataDir);
    expect(fromCli.logging.file).toBe(join(dataDir, 'logs', 'jointscore.log'));
    expect(fromCli.delivery.destinations).toEqual([
      { name: 'CLIPACS@10.0.0.3:104', aeTitle: 'CLIPACS', host: '10.0.0.3', port: 104, tls: { enabled: false, requireClientCert: false } },
    ]);
  });

  it('the file can come from --config or JOINTSCORE_CONFIG', () => {
    expect(loadConfig({ env: {}, overrides: { config: file() } }).dimse.port).toBe(2000);
    expect(loadConfig({ env: { JOINTSCORE_CONFIG: file() } }).dimse.port).toBe(2000);
  });

  it('maps every scalar key to JOINTSCORE_<SECTION>_<KEY>', () => {
    expect(CONFIG_ENV_VARIABLES).toMatchObject({
      JOINTSCORE_DATA_DIR: 'dataDir',
      JOINTSCORE_DIMSE_AE_TITLE: 'dimse.aeTitle',
      JOINTSCORE_DIMSE_MAX_PDU_LENGTH: 'dimse.maxPduLength',
      JOINTSCORE_DIMSE_ALLOW_UNKNOWN_PEERS: 'dimse.allowUnknownPeers',
      JOINTSCORE_DIMSE_ALLOW_LOOPBACK_PEERS: 'dimse.allowLoopbackPeers',
      JOINTSCORE_DIMSE_TLS_ENABLED: 'dimse.tls.enabled',
      JOINTSCORE_ANALYSIS_OUTPUTS_SR: 'analysis.outputs.sr',
      JOINTSCORE_HTTP_PORT: 'http.port',
      JOINTSCORE_LOGGING_LEVEL: 'logging.level',
      JOINTSCORE_DESTINATIONS: 'delivery.destinations',
    });
    expect(Object.values(CONFIG_ENV_VARIABLES)).not.toContain('selection.modalities');
  });

  it('reads typed values from the environment and leaves non-configuration variables alone', () => {
    const c = loadConfig({
      env: {
        JOINTSCORE_DIMSE_ALLOW_UNKNOWN_PEERS: 'yes',
        JOINTSCORE_ANALYSIS_OUTPUTS_PR: '0',
        JOINTSCORE_ANALYSIS_PROVIDER: 'CPU',
        JOINTSCORE_LOGGING_LEVEL: 'debug',
        JOINTSCORE_LOGGING_FILE: '/var/log/js.log',
        JOINTSCORE_HTTP_PORT: '9090',
        JOINTSCORE_DIMSE_PORT: '', // empty counts as unset
        JOINTSCORE_LOG_LEVEL: 'warn',
        JOINTSCORE_TEST_NETNS: 'off',
        JOINTSCORE_BENCH_RUNS: '3',
        JOINTSCORE_SOMETHING_ELSE: 'x',
      },
    });
    expect(c.dimse.allowUnknownPeers).toBe(true); // the default is false
    expect(c.analysis.outputs).toEqual({ sr: true, sc: true, pr: false });
    expect(c.analysis.provider).toBe('cpu');
    expect(c.logging.level).toBe('debug');
    expect(c.logging.file).toBe('/var/log/js.log');
    expect(c.http.port).toBe(9090);
    expect(c.dimse.port).toBe(11112);
  });

  it('resolves relative TLS files against the configuration file, dataDir against the working directory', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'node.key'), 'key');
    writeFileSync(join(dir, 'node.crt'), 'cert');
    const file = confFile(
      ['dataDir: var/js', 'dimse:', '  tls:', '    enabled: true', '    keyFile: node.key', '    certFile: ./node.crt'].join('\n'),
      dir,
    );
    const c = loadConfig({ file, env: {} });
    expect(c.dimse.tls).toEqual({ enabled: true, keyFile: join(dir, 'node.key'), certFile: join(dir, 'node.crt'), requireClientCert: false });
    expect(c.dataDir).toBe(resolve('var/js'));
  });

  it('fills in destination names and accepts commented-out lists', () => {
    const file = confFile(
      ['dimse:', '  allowedPeers:', '  #  - aeTitle: X', 'delivery:', '  destinations:', '    - aeTitle: PACS', '      host: pacs.example.org', '      port: 104'].join('\n'),
    );
    const c = loadConfig({ file, env: {} });
    expect(c.dimse.allowedPeers).toEqual([]);
    expect(c.delivery.destinations[0].name).toBe('PACS@pacs.example.org:104');
    expect(describeConfig(c)).toMatchObject({
      listen: 'JOINTSCORE@0.0.0.0:11112',
      destinations: ['PACS@pacs.example.org:104'],
      outputs: ['sr', 'sc', 'pr'],
      http: '127.0.0.1:8080',
    });
  });
});

describe('wrong settings name the key, the value, what is allowed and where', () => {
  it('a misspelt key in the file', () => {
    const file = confFile('dimse:\n  prot: 104\n');
    expectConfigError(() => loadConfig({ file, env: {} }), [file, 'dimse.prot = 104', 'unknown key', 'did you mean "port"', 'aeTitle, bindAddress, port']);
  });

  it('a misspelt section', () => {
    const file = confFile('dimze:\n  port: 104\n');
    expectConfigError(() => loadConfig({ file, env: {} }), ['dimze', 'did you mean "dimse"']);
  });

  it('port 70000', () => {
    const file = confFile('dimse:\n  port: 70000\n');
    expectConfigError(() => loadConfig({ file, env: {} }), [file, 'dimse.port = 70000', 'a whole number from 1 to 65535']);
  });

  it('port "abc" from the environment', () => {
    expectConfigError(
      () => loadConfig({ env: { JOINTSCORE_DIMSE_PORT: 'abc' } }),
      ['environment JOINTSCORE_DIMSE_PORT', 'dimse.port = "abc"', 'a whole number from 1 to 65535'],
    );
  });

  it('an unknown configuration variable', () => {
    expectConfigError(
      () => loadConfig({ env: { JOINTSCORE_DIMSE_PROT: '104' } }),
      ['JOINTSCORE_DIMSE_PROT = "104"', 'unknown configuration variable', 'did you mean JOINTSCORE_DIMSE_PORT', 'JOINTSCORE_DIMSE_AE_TITLE'],
    );
  });

  it('an AE title of 17 characters', () => {
    expectConfigError(
      () => loadConfig({ env: {}, overrides: { aeTitle: 'ABCDEFGHIJKLMNOPQ' } }),
      ['--ae-title', 'dimse.aeTitle = "ABCDEFGHIJKLMNOPQ"', '17 characters', 'at most 16'],
    );
  });

  it('an AE title that YAML reads as a number', () => {
    const file = confFile('delivery:\n  callingAeTitle: 1234\n');
    expectConfigError(() => loadConfig({ file, env: {} }), ['delivery.callingAeTitle = 1234', 'put it in quotes']);
  });

  it('a regular expression that does not compile', () => {
    const file = confFile("selection:\n  seriesDescriptionExclude: ['scout', '([']\n");
    expectConfigError(() => loadConfig({ file, env: {} }), ['selection.seriesDescriptionExclude[1] = "(["', 'a regular expression']);
  });

  it('provider "gpu"', () => {
    const file = confFile('analysis:\n  provider: gpu\n');
    expectConfigError(() => loadConfig({ file, env: {} }), ['analysis.provider = "gpu"', 'one of cpu, cuda, auto']);
  });

  it('boolean "maybe"', () => {
    expectConfigError(
      () => loadConfig({ env: { JOINTSCORE_DIMSE_ALLOW_UNKNOWN_PEERS: 'maybe' } }),
      ['environment JOINTSCORE_DIMSE_ALLOW_UNKNOWN_PEERS', 'dimse.allowUnknownPeers = "maybe"', 'true or false'],
    );
  });

  it('a destination without a port', () => {
    expectConfigError(
      () => loadConfig({ env: {}, overrides: { destinations: ['PACS@host'] } }),
      ['--destination', 'delivery.destinations[0] = "PACS@host"', 'no ":port"', 'AE@host:port'],
    );
    const file = confFile('delivery:\n  destinations:\n    - aeTitle: PACS\n      host: pacs\n');
    expectConfigError(() => loadConfig({ file, env: {} }), ['delivery.destinations[0].port', 'required']);
  });

  it('TLS enabled without a certificate', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'node.key'), 'key');
    const file = confFile('dimse:\n  tls:\n    enabled: true\n    keyFile: node.key\n', dir);
    expectConfigError(() => loadConfig({ file, env: {} }), [file, 'dimse.tls.certFile', 'certificate', 'required when dimse.tls.enabled is true']);
  });

  it('a TLS file that does not exist', () => {
    const dir = tempDir();
    const file = confFile('dimse:\n  tls:\n    enabled: true\n    keyFile: a.key\n    certFile: a.crt\n', dir);
    expectConfigError(() => loadConfig({ file, env: {} }), ['dimse.tls.keyFile', join(dir, 'a.key'), 'an existing PEM file']);
  });

  it('a YAML syntax error names the file and the line', () => {
    const file = confFile('dimse:\n  aeTitle: X\n  port: 11112\n bad: 1\n');
    const err = expectConfigError(() => loadConfig({ file, env: {} }), [`${file}, line 4`, 'YAML syntax error', 'bad indentation']);
    expect(err.message).toContain(' 4 |  bad: 1');
  });

  it('every output switched off', () => {
    const file = confFile('analysis:\n  outputs:\n    sr: false\n    sc: false\n    pr: false\n');
    expectConfigError(() => loadConfig({ file, env: {} }), [file, 'analysis.outputs', 'at least one of sr, sc, pr']);
  });

  it('unknown peers refused with no peer listed', () => {
    expectConfigError(
      () => loadConfig({ env: { JOINTSCORE_DIMSE_ALLOW_UNKNOWN_PEERS: 'false', JOINTSCORE_DIMSE_ALLOW_LOOPBACK_PEERS: 'false' } }),
      ['dimse.allowedPeers', 'at least one peer when dimse.allowUnknownPeers and dimse.allowLoopbackPeers are false'],
    );
  });

  it('a configuration file that does not exist', () => {
    const missing = join(tempDir(), 'nope.yaml');
    expectConfigError(() => loadConfig({ env: {}, overrides: { config: missing } }), ['--config', missing, 'a readable YAML file']);
  });
});
