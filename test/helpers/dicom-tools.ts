import { spawnSync } from 'node:child_process';

/** Real peers as judges: dicom3tools' dciodvfy, DCMTK's dcmdump and decompressors, pydicom. */

export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(cmd: string, args: string[]): ToolRun {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface DciodvfyResult {
  errors: string[];
  warnings: string[];
  output: string;
}

/** dciodvfy's verdict: lines starting with "Error" and "Warning" (it prints both to stderr). */
export function dciodvfy(file: string): DciodvfyResult {
  const r = runTool('dciodvfy', [file]);
  const output = r.stdout + r.stderr;
  const lines = output.split('\n').map((l) => l.trim());
  return {
    errors: lines.filter((l) => l.startsWith('Error')),
    warnings: lines.filter((l) => l.startsWith('Warning')),
    output,
  };
}

/** dcmdump's names for transfer syntaxes (as in "(0002,0010) UI =JPEGLSLossless"). */
export const DCMDUMP_SYNTAX_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2': 'LittleEndianImplicit',
  '1.2.840.10008.1.2.1': 'LittleEndianExplicit',
  '1.2.840.10008.1.2.4.70': 'JPEGLossless:Non-hierarchical-1stOrderPrediction',
  '1.2.840.10008.1.2.4.80': 'JPEGLSLossless',
  '1.2.840.10008.1.2.4.90': 'JPEG2000LosslessOnly',
  '1.2.840.10008.1.2.5': 'RLELossless',
};

/** DCMTK's decompressor for a syntax, if it has one (it has none for JPEG 2000). */
export const DCMTK_DECODERS: Record<string, string | undefined> = {
  '1.2.840.10008.1.2.4.70': 'dcmdjpeg',
  '1.2.840.10008.1.2.4.80': 'dcmdjpls',
  '1.2.840.10008.1.2.5': 'dcmdrle',
};

let pydicomChecked: boolean | undefined;

/** Whether `python3` has pydicom with numpy (an optional independent decoder). */
export function hasPydicom(): boolean {
  if (pydicomChecked === undefined) {
    const r = spawnSync('python3', ['-c', 'import pydicom, numpy'], { encoding: 'utf8' });
    pydicomChecked = !r.error && r.status === 0;
  }
  return pydicomChecked;
}

/** sha256 of the little-endian uint16 pixel array pydicom decodes from each file. */
export function pydicomPixelSha256(files: string[]): Record<string, string> {
  const script = [
    'import sys, hashlib, json, numpy, pydicom',
    'out = {}',
    'for f in sys.argv[1:]:',
    '    a = pydicom.dcmread(f).pixel_array.astype("<u2")',
    '    out[f] = hashlib.sha256(a.tobytes()).hexdigest()',
    'print(json.dumps(out))',
  ].join('\n');
  const r = runTool('python3', ['-c', script, ...files]);
  if (r.status !== 0) throw new Error(`pydicom failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, string>;
}
