import { createRequire } from 'node:module';

/**
 * dcmjs "formats" every UI value it reads by deleting each character that is not a digit
 * or a dot, so `1.2.3a` is read as `1.2.3`: the node would analyse and file results under a
 * UID the sender never used, and its own UID checks would never see the fault. This keeps
 * UI values as sent (only the padding is removed), in the dcmjs copy given and in the one
 * dcmjs-dimse bundles, so that invalid UIDs reach the checks that refuse them.
 */
interface DcmjsLike {
  data: { ValueRepresentation: { createByTypeString(vr: string): object } };
}

const unpad = (s: unknown) => (typeof s === 'string' ? s.replace(/[\0 ]+$/, '') : s);

function keepUids(dcmjs: DcmjsLike): void {
  const proto = Object.getPrototypeOf(dcmjs.data.ValueRepresentation.createByTypeString('UI')) as {
    applyFormatting(value: unknown): unknown;
  };
  proto.applyFormatting = (value: unknown) => (Array.isArray(value) ? value.map(unpad) : unpad(value));
}

let done = false;

export function keepUidsAsSent(ours: DcmjsLike): void {
  if (done) return;
  done = true;
  keepUids(ours);
  const require = createRequire(import.meta.url);
  const fromDimse = createRequire(require.resolve('dcmjs-dimse'));
  keepUids(fromDimse('dcmjs') as DcmjsLike);
}
