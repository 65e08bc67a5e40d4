/**
 * A small Zarr v2 directory-store implementation (no npm zarr: we need speed and exact control).
 *
 * What is supported, on purpose and no more:
 *  - groups (`.zgroup`, `.zattrs`) and arrays (`.zarray`, `.zattrs` with xarray's `_ARRAY_DIMENSIONS`);
 *  - C order, no filters, `dimension_separator` "." (default) or "/";
 *  - dtypes `<c8 <f4 <f8 <i4 <i8 |b1 |u1 <U<n>` (little-endian, so typed arrays map onto file bytes);
 *  - compressor null (fast path: chunks are read/written straight into typed arrays) or zlib/gzip;
 *  - consolidated metadata (`.zmetadata`) so `xarray.open_zarr` does not list the tree.
 * Metadata JSON is written the way zarr-python 2 writes it (sorted keys, indent 4, ASCII), so our
 * files are byte-identical to zarr-python's for the same array.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { InputError, DsaError } from '../util/errors.js';
import { TEMP_PATTERN, writeFileAtomic, ioError } from '../util/atomic.js';

const deflate = promisify(zlib.deflate);
const inflate = promisify(zlib.inflate);
const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

export type ZarrDtype = '<c8' | '<f4' | '<f8' | '<i4' | '<i8' | '|b1' | '|u1' | `<U${number}`;
export type Compressor = null | { id: 'zlib'; level: number } | { id: 'gzip'; level: number };
export type FillValue = number | boolean | string | [number, number] | null;
export type ZarrData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | string[];

export interface ZArrayMeta {
  zarr_format: 2;
  shape: number[];
  chunks: number[];
  dtype: ZarrDtype;
  compressor: Compressor;
  fill_value: FillValue;
  order: 'C';
  filters: null;
  dimension_separator: '.' | '/';
}

export interface ArraySpec {
  shape: number[];
  /** Defaults to the whole array in one chunk. */
  chunks?: number[];
  dtype: ZarrDtype;
  compressor?: Compressor;
  /** Defaults to null (no fill; see defaultFill for why). */
  fillValue?: FillValue;
  /** xarray dimension names, stored as `_ARRAY_DIMENSIONS`. */
  dims?: string[];
  attrs?: Record<string, unknown>;
}

// ---------------------------------------------------------------- dtypes

export function itemSize(dtype: string): number {
  switch (dtype) {
    case '<c8':
    case '<f8':
    case '<i8':
      return 8;
    case '<f4':
    case '<i4':
      return 4;
    case '|b1':
    case '|u1':
      return 1;
  }
  const w = unicodeWidth(dtype);
  if (w !== null) return 4 * w;
  throw new DsaError(`unsupported Zarr dtype ${JSON.stringify(dtype)}`);
}

function unicodeWidth(dtype: string): number | null {
  const m = /^<U(\d+)$/.exec(dtype);
  return m ? Number(m[1]) : null;
}

export function isSupportedDtype(dtype: unknown): dtype is ZarrDtype {
  if (typeof dtype !== 'string') return false;
  if (['<c8', '<f4', '<f8', '<i4', '<i8', '|b1', '|u1'].includes(dtype)) return true;
  const w = unicodeWidth(dtype);
  return w !== null && w > 0;
}

/**
 * Our default fill_value is null (no fill): xarray turns a fill_value into `_FillValue` and masks
 * every element equal to it (0 → NaN, false → NaN), which would corrupt ANTENNA1, FLAG, DATA...
 * We write every chunk, so no fill is needed; a missing chunk of such an array is an error.
 * zarr-python's own defaults (0, false, "", [0,0]) are available via zarrPythonDefaultFill.
 */
function defaultFill(_dtype: ZarrDtype): FillValue {
  return null;
}

/** The fill_value zarr-python 2 uses when none is given (for byte-compatible test arrays). */
export function zarrPythonDefaultFill(dtype: ZarrDtype): FillValue {
  if (dtype === '<c8') return [0, 0];
  if (dtype === '|b1') return false;
  if (dtype.startsWith('<U')) return '';
  return 0;
}

/** Number of elements in the typed representation per array element (2 for complex). */
export function lanes(dtype: ZarrDtype): number {
  return dtype === '<c8' ? 2 : 1;
}

/** A zero-filled typed array for `n` elements of dtype (strings: Uint8Array of raw UTF-32). */
export function allocFor(dtype: ZarrDtype, n: number): Exclude<ZarrData, string[]> {
  switch (dtype) {
    case '<c8':
      return new Float32Array(2 * n);
    case '<f4':
      return new Float32Array(n);
    case '<f8':
      return new Float64Array(n);
    case '<i4':
      return new Int32Array(n);
    case '<i8':
      return new BigInt64Array(n);
    case '|b1':
    case '|u1':
      return new Uint8Array(n);
    default:
      return new Uint8Array(n * itemSize(dtype));
  }
}

/** View any typed array's memory as bytes (no copy). */
export function bytesOf(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Encode strings as fixed-width UTF-32LE (numpy `<U<width>`); throws if one is too long. */
export function encodeStrings(strs: readonly string[], width: number): Uint8Array {
  const out = new Uint8Array(strs.length * width * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < strs.length; i++) {
    let k = 0;
    for (const ch of strs[i]) {
      if (k >= width) throw new DsaError(`string ${JSON.stringify(strs[i])} is longer than <U${width}`);
      dv.setUint32((i * width + k) * 4, ch.codePointAt(0)!, true);
      k++;
    }
  }
  return out;
}

export function decodeStrings(bytes: Uint8Array, width: number): string[] {
  const n = Math.floor(bytes.byteLength / (4 * width));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let s = '';
    for (let k = 0; k < width; k++) {
      const cp = dv.getUint32((i * width + k) * 4, true);
      if (cp === 0) break; // numpy strips trailing NULs; embedded NULs are not representable
      s += String.fromCodePoint(cp);
    }
    out[i] = s;
  }
  return out;
}

/** Minimal fixed width for a set of strings (in code points, at least 1). */
export function unicodeWidthFor(strs: readonly string[]): number {
  let w = 1;
  for (const s of strs) w = Math.max(w, [...s].length);
  return w;
}

function fillBytes(meta: ZArrayMeta): Uint8Array | null {
  const fv = meta.fill_value;
  const isz = itemSize(meta.dtype);
  if (fv === null || fv === 0 || fv === false || fv === '' || (Array.isArray(fv) && fv[0] === 0 && fv[1] === 0 && !Object.is(fv[0], -0))) {
    return null; // zero bytes: a fresh typed array already holds them
  }
  const b = new Uint8Array(isz);
  const dv = new DataView(b.buffer);
  const num = (v: unknown): number => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v));
  switch (meta.dtype) {
    case '<c8': {
      const [re, im] = fv as [unknown, unknown];
      dv.setFloat32(0, num(re), true);
      dv.setFloat32(4, num(im), true);
      break;
    }
    case '<f4':
      dv.setFloat32(0, num(fv), true);
      break;
    case '<f8':
      dv.setFloat64(0, num(fv), true);
      break;
    case '<i4':
      dv.setInt32(0, Number(fv), true);
      break;
    case '<i8':
      dv.setBigInt64(0, BigInt(fv as number), true);
      break;
    case '|b1':
      b[0] = fv ? 1 : 0;
      break;
    case '|u1':
      b[0] = Number(fv);
      break;
    default:
      b.set(encodeStrings([String(fv)], unicodeWidth(meta.dtype)!));
  }
  return b;
}

function fillWith(out: Uint8Array, pattern: Uint8Array | null): void {
  if (pattern === null) {
    out.fill(0);
    return;
  }
  for (let i = 0; i < out.length; i += pattern.length) out.set(pattern, i);
}

// ---------------------------------------------------------------- JSON as zarr-python writes it

/** Marks a number that Python would print as a float (`0.0`, not `0`). */
class PyFloat {
  constructor(readonly v: number) {}
}

function pyFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return (Object.is(v, -0) ? '-0' : String(v)) + '.0';
  return String(v);
}

function pyString(s: string): string {
  // ensure_ascii: everything outside printable ASCII as \uXXXX (UTF-16 units, as Python does).
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** `json.dumps(v, indent=4, sort_keys=True, ensure_ascii=True, separators=(',', ': '))`. */
export function pyJsonDumps(v: unknown, level = 0): string {
  const pad = '    '.repeat(level + 1);
  const end = '    '.repeat(level);
  if (v instanceof PyFloat) return pyFloatRepr(v.v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return pyString(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const arr = Array.isArray(v) ? v : Array.from(v as unknown as ArrayLike<number>);
    if (arr.length === 0) return '[]';
    return '[\n' + arr.map((x) => pad + pyJsonDumps(x, level + 1)).join(',\n') + '\n' + end + ']';
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    if (keys.length === 0) return '{}';
    return (
      '{\n' +
      keys.map((k) => pad + pyString(k) + ': ' + pyJsonDumps((v as Record<string, unknown>)[k], level + 1)).join(',\n') +
      '\n' +
      end +
      '}'
    );
  }
  throw new DsaError(`cannot encode ${typeof v} as JSON`);
}

/** .zarray content as an object for pyJsonDumps: fill_value encoded like zarr-python (floats as floats, NaN as "NaN"). */
function zarrayObject(meta: ZArrayMeta): Record<string, unknown> {
  const fv = meta.fill_value;
  let enc: unknown = fv;
  const asFloat = (x: number): unknown => (Number.isFinite(x) ? new PyFloat(x) : pyFloatRepr(x));
  if (fv !== null) {
    if (meta.dtype === '<c8') {
      const [re, im] = fv as [number, number];
      enc = [asFloat(Number(re)), asFloat(Number(im))];
    } else if (meta.dtype === '<f4' || meta.dtype === '<f8') {
      enc = typeof fv === 'string' ? fv : asFloat(Number(fv));
    }
  }
  return { ...meta, fill_value: enc };
}

function zarrayJson(meta: ZArrayMeta): string {
  return pyJsonDumps(zarrayObject(meta));
}

// ---------------------------------------------------------------- metadata files

async function readJson(file: string, subject: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(subject, `missing ${path.basename(file)}`);
    throw new InputError(subject, `cannot read ${path.basename(file)}: ${(e as Error).message}`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new InputError(subject, `corrupt ${path.basename(file)}: ${(e as Error).message}`);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

async function writeText(file: string, text: string, atomic: boolean): Promise<void> {
  if (atomic) return writeFileAtomic(file, text);
  try {
    await fsp.writeFile(file, text);
  } catch (e) {
    throw ioError(e, 'writing', file);
  }
}

/** Create (mkdir -p) a group with optional attributes. */
export async function writeGroup(dir: string, attrs?: Record<string, unknown>): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  await writeText(path.join(dir, '.zgroup'), pyJsonDumps({ zarr_format: 2 }), false);
  if (attrs && Object.keys(attrs).length > 0) await writeText(path.join(dir, '.zattrs'), pyJsonDumps(attrs), false);
}

export async function isGroup(dir: string): Promise<boolean> {
  return exists(path.join(dir, '.zgroup'));
}
export async function isArray(dir: string): Promise<boolean> {
  return exists(path.join(dir, '.zarray'));
}

/** Read `.zattrs` of a group or array ({} if absent). */
export async function readAttrs(dir: string): Promise<Record<string, unknown>> {
  const f = path.join(dir, '.zattrs');
  if (!(await exists(f))) return {};
  return readJson(f, dir);
}

/** Replace `.zattrs` (atomically: readers never see a half-written file). */
export async function writeAttrs(dir: string, attrs: Record<string, unknown>, atomic = true): Promise<void> {
  await writeText(path.join(dir, '.zattrs'), pyJsonDumps(attrs), atomic);
}

export function makeArrayMeta(spec: ArraySpec): ZArrayMeta {
  if (!isSupportedDtype(spec.dtype)) throw new DsaError(`unsupported Zarr dtype ${JSON.stringify(spec.dtype)}`);
  const shape = spec.shape.slice();
  const chunks = (spec.chunks ?? shape.map((n) => Math.max(1, n))).slice();
  if (chunks.length !== shape.length) throw new DsaError(`chunks ${JSON.stringify(chunks)} do not match shape ${JSON.stringify(shape)}`);
  for (const c of chunks) if (!Number.isInteger(c) || c < 1) throw new DsaError(`bad chunk size in ${JSON.stringify(chunks)}`);
  for (const n of shape) if (!Number.isInteger(n) || n < 0) throw new DsaError(`bad shape ${JSON.stringify(shape)}`);
  return {
    zarr_format: 2,
    shape,
    chunks,
    dtype: spec.dtype,
    compressor: spec.compressor ?? null,
    fill_value: spec.fillValue === undefined ? defaultFill(spec.dtype) : spec.fillValue,
    order: 'C',
    filters: null,
    dimension_separator: '.',
  };
}

/** Create an array directory with `.zarray` and `.zattrs` (dimension names for xarray). */
export async function createArray(dir: string, spec: ArraySpec): Promise<ZArrayMeta> {
  const meta = makeArrayMeta(spec);
  if (spec.dims && spec.dims.length !== spec.shape.length) {
    throw new DsaError(`dims ${JSON.stringify(spec.dims)} do not match shape ${JSON.stringify(spec.shape)}`);
  }
  await fsp.mkdir(dir, { recursive: true });
  await writeText(path.join(dir, '.zarray'), zarrayJson(meta), false);
  const attrs: Record<string, unknown> = { ...(spec.attrs ?? {}) };
  if (spec.dims) attrs._ARRAY_DIMENSIONS = spec.dims;
  if (Object.keys(attrs).length > 0) await writeText(path.join(dir, '.zattrs'), pyJsonDumps(attrs), false);
  return meta;
}

/** Parse and validate `.zarray`; anything we cannot read exactly is refused, never guessed. */
export function parseArrayMeta(raw: Record<string, unknown>, subject: string): ZArrayMeta {
  const bad = (why: string): never => {
    throw new InputError(subject, why);
  };
  if (raw.zarr_format !== 2) bad(`not a Zarr v2 array (zarr_format ${JSON.stringify(raw.zarr_format)})`);
  const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0);
  if (!isIntList(raw.shape)) bad('bad "shape" in .zarray');
  if (!isIntList(raw.chunks) || (raw.chunks as number[]).length !== (raw.shape as number[]).length || (raw.chunks as number[]).some((c) => c < 1)) {
    bad('bad "chunks" in .zarray');
  }
  if (!isSupportedDtype(raw.dtype)) bad(`unsupported dtype ${JSON.stringify(raw.dtype)}`);
  if (raw.order !== 'C') bad(`unsupported order ${JSON.stringify(raw.order)} (only C)`);
  if (raw.filters !== null && raw.filters !== undefined && !(Array.isArray(raw.filters) && raw.filters.length === 0)) {
    bad('unsupported filters in .zarray');
  }
  const sep = raw.dimension_separator ?? '.';
  if (sep !== '.' && sep !== '/') bad(`unsupported dimension_separator ${JSON.stringify(sep)}`);
  let comp: Compressor = null;
  if (raw.compressor !== null && raw.compressor !== undefined) {
    const c = raw.compressor as { id?: unknown; level?: unknown };
    if (c.id === 'zlib' || c.id === 'gzip') comp = { id: c.id, level: Number(c.level ?? 1) };
    else bad(`unsupported compressor ${JSON.stringify(c.id)} (supported: none, zlib, gzip)`);
  }
  return {
    zarr_format: 2,
    shape: raw.shape as number[],
    chunks: raw.chunks as number[],
    dtype: raw.dtype as ZarrDtype,
    compressor: comp,
    fill_value: (raw.fill_value ?? null) as FillValue,
    order: 'C',
    filters: null,
    dimension_separator: sep as '.' | '/',
  };
}

export async function readArrayMeta(dir: string): Promise<ZArrayMeta> {
  return parseArrayMeta(await readJson(path.join(dir, '.zarray'), dir), dir);
}

// ---------------------------------------------------------------- chunks

export function chunkKey(meta: ZArrayMeta, idx: readonly number[]): string {
  return idx.length === 0 ? '0' : idx.join(meta.dimension_separator);
}

export function chunkBytes(meta: ZArrayMeta): number {
  let n = itemSize(meta.dtype);
  for (const c of meta.chunks) n *= c;
  return n;
}

export function chunkGrid(meta: ZArrayMeta): number[] {
  return meta.shape.map((n, i) => Math.ceil(n / meta.chunks[i]));
}

/** Write all of `buf` at file offset 0 (loops over short writes). */
async function writeAll(file: string, buf: Uint8Array): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    let off = 0;
    while (off < buf.byteLength) {
      const { bytesWritten } = await fh.write(buf, off, buf.byteLength - off, off);
      off += bytesWritten;
    }
  } finally {
    await fh.close();
  }
}

/** Read exactly out.byteLength bytes from `file` at `pos` into `out`; returns bytes read. */
async function readInto(fh: fsp.FileHandle, out: Uint8Array, pos: number): Promise<number> {
  let off = 0;
  while (off < out.byteLength) {
    const { bytesRead } = await fh.read(out, off, out.byteLength - off, pos + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off;
}

/** Encode (compress) and write one full-sized chunk. `data` must hold exactly chunkBytes(meta). */
export async function writeChunk(dir: string, meta: ZArrayMeta, idx: readonly number[], data: ArrayBufferView): Promise<void> {
  const raw = bytesOf(data);
  const want = chunkBytes(meta);
  if (raw.byteLength !== want) throw new DsaError(`chunk ${idx.join('.')} of ${dir}: ${raw.byteLength} bytes, expected ${want}`);
  let enc: Uint8Array = raw;
  if (meta.compressor?.id === 'zlib') enc = await deflate(raw, { level: meta.compressor.level });
  else if (meta.compressor?.id === 'gzip') enc = await gzip(raw, { level: meta.compressor.level });
  const file = path.join(dir, chunkKey(meta, idx));
  try {
    if (meta.dimension_separator === '/') await fsp.mkdir(path.dirname(file), { recursive: true });
    await writeAll(file, enc);
  } catch (e) {
    throw ioError(e, 'writing', file);
  }
}

/**
 * Read one chunk into `out` (exactly chunkBytes(meta) bytes, or a byte range of the decoded chunk
 * starting at `byteOffset` when out is shorter). A missing chunk file reads as fill_value.
 * Uncompressed chunks are read straight into `out` with no intermediate copy.
 */
export async function readChunkInto(
  dir: string,
  meta: ZArrayMeta,
  idx: readonly number[],
  out: Uint8Array,
  byteOffset = 0,
): Promise<void> {
  const full = chunkBytes(meta);
  if (byteOffset < 0 || byteOffset + out.byteLength > full) throw new DsaError(`chunk read out of range in ${dir}`);
  const file = path.join(dir, chunkKey(meta, idx));
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (meta.fill_value === null) throw new InputError(file, 'missing chunk file (array has no fill value: truncated or damaged store)');
      const pat = fillBytes(meta);
      if (pat === null || byteOffset % pat.length === 0) fillWith(out, pat);
      else throw new DsaError(`unaligned fill read in ${dir}`);
      return;
    }
    throw new InputError(file, `cannot read chunk: ${(e as Error).message}`);
  }
  try {
    if (meta.compressor === null) {
      const size = (await fh.stat()).size;
      if (size !== full) throw new InputError(file, `chunk is ${size} bytes, expected ${full} (truncated or corrupt)`);
      const got = await readInto(fh, out, byteOffset);
      if (got !== out.byteLength) throw new InputError(file, `short read: ${got} of ${out.byteLength} bytes`);
    } else {
      const enc = await fh.readFile();
      let dec: Uint8Array;
      try {
        dec = meta.compressor.id === 'zlib' ? await inflate(enc) : await gunzip(enc);
      } catch (e) {
        throw new InputError(file, `corrupt ${meta.compressor.id} chunk: ${(e as Error).message}`);
      }
      if (dec.byteLength !== full) throw new InputError(file, `chunk decodes to ${dec.byteLength} bytes, expected ${full}`);
      out.set(dec.subarray(byteOffset, byteOffset + out.byteLength));
    }
  } finally {
    await fh.close();
  }
}

/**
 * Copy a hyper-rectangle `count` from src (shape srcShape, at srcStart) to dst (shape dstShape,
 * at dstStart), in bytes of size `isz` per element, one contiguous innermost run at a time.
 */
function copyRegion(
  src: Uint8Array,
  srcShape: number[],
  srcStart: number[],
  dst: Uint8Array,
  dstShape: number[],
  dstStart: number[],
  count: number[],
  isz: number,
): void {
  const nd = count.length;
  if (nd === 0) {
    dst.set(src.subarray(0, isz), 0);
    return;
  }
  if (count.some((c) => c === 0)) return;
  const sStr = new Array<number>(nd);
  const dStr = new Array<number>(nd);
  sStr[nd - 1] = isz;
  dStr[nd - 1] = isz;
  for (let d = nd - 2; d >= 0; d--) {
    sStr[d] = sStr[d + 1] * srcShape[d + 1];
    dStr[d] = dStr[d + 1] * dstShape[d + 1];
  }
  const run = count[nd - 1] * isz;
  const pos = new Array<number>(nd - 1).fill(0);
  for (;;) {
    let so = srcStart[nd - 1] * isz;
    let doff = dstStart[nd - 1] * isz;
    for (let d = 0; d < nd - 1; d++) {
      so += (srcStart[d] + pos[d]) * sStr[d];
      doff += (dstStart[d] + pos[d]) * dStr[d];
    }
    dst.set(src.subarray(so, so + run), doff);
    let d = nd - 2;
    while (d >= 0) {
      if (++pos[d] < count[d]) break;
      pos[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
}

function toBytes(dtype: ZarrDtype, data: ZarrData, nElem: number, subject: string): Uint8Array {
  if (Array.isArray(data)) {
    const w = unicodeWidth(dtype);
    if (w === null) throw new DsaError(`${subject}: string data for dtype ${dtype}`);
    if (data.length !== nElem) throw new DsaError(`${subject}: ${data.length} strings, expected ${nElem}`);
    return encodeStrings(data, w);
  }
  const b = bytesOf(data as ArrayBufferView);
  const want = nElem * itemSize(dtype);
  if (b.byteLength !== want) throw new DsaError(`${subject}: ${b.byteLength} bytes of data, expected ${want} for ${dtype}`);
  return b;
}

/** Create an array and write all of `data` (C order) into its chunks. */
export async function writeArray(dir: string, data: ZarrData, spec: ArraySpec): Promise<ZArrayMeta> {
  const meta = await createArray(dir, spec);
  const nElem = meta.shape.reduce((a, b) => a * b, 1);
  const src = toBytes(meta.dtype, data, nElem, dir);
  const isz = itemSize(meta.dtype);
  const grid = chunkGrid(meta);
  if (nElem === 0) return meta;
  const nd = meta.shape.length;
  // Fast path: chunked only along axis 0 and evenly → every chunk is a contiguous slice, no copy.
  const contiguous = meta.chunks.every((c, i) => i === 0 || c === meta.shape[i]);
  const cb = chunkBytes(meta);
  const idx = new Array<number>(nd).fill(0);
  const scratch = contiguous && meta.shape[0] % meta.chunks[0] === 0 ? null : new Uint8Array(cb);
  for (;;) {
    if (scratch === null) {
      await writeChunk(dir, meta, idx, src.subarray(idx[0] * cb, (idx[0] + 1) * cb));
    } else {
      const start = idx.map((c, i) => c * meta.chunks[i]);
      const count = start.map((s, i) => Math.min(meta.chunks[i], meta.shape[i] - s));
      // Padding beyond the array edge is written as fill_value, like zarr-python.
      fillWith(scratch, fillBytes(meta));
      copyRegion(src, meta.shape, start, scratch, meta.chunks, new Array(nd).fill(0), count, isz);
      await writeChunk(dir, meta, idx, scratch);
    }
    let d = nd - 1;
    while (d >= 0) {
      if (++idx[d] < grid[d]) break;
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
  return meta;
}

/** Read a whole array: typed data (strings decoded), its metadata and attributes. */
export async function readArray(dir: string): Promise<{ meta: ZArrayMeta; attrs: Record<string, unknown>; data: ZarrData }> {
  const meta = await readArrayMeta(dir);
  const attrs = await readAttrs(dir);
  const nElem = meta.shape.reduce((a, b) => a * b, 1);
  const isz = itemSize(meta.dtype);
  const typed = allocFor(meta.dtype, nElem);
  const dst = bytesOf(typed);
  if (nElem > 0) {
    const nd = meta.shape.length;
    const grid = chunkGrid(meta);
    const cb = chunkBytes(meta);
    const contiguous = meta.chunks.every((c, i) => i === 0 || c === meta.shape[i]);
    const scratch = new Uint8Array(cb);
    const idx = new Array<number>(nd).fill(0);
    for (;;) {
      if (contiguous && nd > 0) {
        const start = idx[0] * cb;
        const len = Math.min(cb, dst.byteLength - start); // last chunk may be partial
        await readChunkInto(dir, meta, idx, dst.subarray(start, start + len));
      } else {
        await readChunkInto(dir, meta, idx, scratch);
        const start = idx.map((c, i) => c * meta.chunks[i]);
        const count = start.map((s, i) => Math.min(meta.chunks[i], meta.shape[i] - s));
        copyRegion(scratch, meta.chunks, new Array(nd).fill(0), dst, meta.shape, start, count, isz);
      }
      let d = nd - 1;
      while (d >= 0) {
        if (++idx[d] < grid[d]) break;
        idx[d] = 0;
        d--;
      }
      if (d < 0) break;
    }
  }
  const w = unicodeWidth(meta.dtype);
  const data: ZarrData = w !== null ? decodeStrings(dst, w) : typed;
  return { meta, attrs, data };
}

// ---------------------------------------------------------------- consolidated metadata

/**
 * Write `.zmetadata` for the store at `root` (zarr-python's consolidated format), listing every
 * group and array except hidden entries (temps, our own bookkeeping).
 */
export async function consolidateMetadata(root: string, opts: { atomic?: boolean } = {}): Promise<void> {
  const metadata: Record<string, unknown> = {};
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const f of ['.zgroup', '.zarray', '.zattrs']) {
      const p = path.join(dir, f);
      if (!(await exists(p))) continue;
      const raw = await readJson(p, dir);
      let v: unknown = raw;
      if (f === '.zarray') {
        try {
          v = zarrayObject(parseArrayMeta(raw, dir)); // keeps float fill values as floats
        } catch {
          v = raw; // an array we cannot read ourselves is still listed as it is
        }
      }
      metadata[prefix + f] = v;
    }
    if (metadata[prefix + '.zarray'] !== undefined) return; // arrays hold only chunks below
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.') || TEMP_PATTERN.test(e.name)) continue;
      await walk(path.join(dir, e.name), prefix + e.name + '/');
    }
  };
  await walk(root, '');
  const text = pyJsonDumps({ metadata, zarr_consolidated_format: 1 });
  await writeText(path.join(root, '.zmetadata'), text, opts.atomic ?? true);
}
