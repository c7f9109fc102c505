// dcmjs ships no type definitions; these cover the parts the project uses.
declare module 'dcmjs' {
  export const data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): DicomDictLike;
    };
    DicomDict: new (meta: Record<string, unknown>) => DicomDictLike;
    DicomMetaDictionary: {
      naturalizeDataset(dataset: Record<string, unknown>): Record<string, any>;
      denaturalizeDataset(dataset: Record<string, unknown>): Record<string, any>;
      uid(): string;
      dictionary: Record<string, { tag: string; vr: string; name: string; vm: string }>;
      nameMap: Record<string, { tag: string; vr: string; name: string; vm: string }>;
    };
  };
  export const log: { setLevel(level: string): void; level?: unknown };
  export interface DicomDictLike {
    meta: Record<string, any>;
    dict: Record<string, any>;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  const dcmjs: { data: typeof data; log: typeof log };
  export default dcmjs;
}
