/**
 * Low-level HDF5 helpers.
 *
 * Reading goes through h5wasm (HDF5 compiled to WebAssembly). h5wasm/node is built with
 * NODERAWFS, so host paths are opened directly: no copy of a multi-GB file into memory.
 * Large datasets are read as raw bytes via the low-level `get_dataset_data` hyperslab call into a
 * malloc'd scratch buffer, then copied out (the element-wise `.value` path is ~150x slower).
 * Unfiltered contiguous datasets skip h5wasm for their data: hdf5-layout.ts finds where the raw
 * bytes sit and a slice along the first axis (one byte range) is pread straight into the caller's
 * array — one copy instead of two. h5wasm still opens the file (validation, metadata, filters).
 *
 * Writing uses a small pure-TypeScript HDF5 writer (superblock v2, version-2 object headers,
 * compact link storage, contiguous datasets). h5wasm cannot create enum datatypes (numpy bool, as
 * h5py writes flags) and always writes a whole dataset from one wasm buffer; our own writer makes
 * exactly the datatypes h5py makes and streams big datasets to disk at known file offsets.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import h5wasm from 'h5wasm/node';
import type { Metadata, Filter } from 'h5wasm/node';

/** The emscripten module type, as resolved by `h5wasm.ready`. */
type H5ModuleBase = Awaited<typeof h5wasm.ready>;
import { InputError } from '../util/errors.js';
import { lookup3 } from './hdf5-checksum.js';
import { H5Locator } from './hdf5-layout.js';

export { lookup3 };

// ---------------------------------------------------------------------------------------------
// Reading (h5wasm)
// ---------------------------------------------------------------------------------------------

/** The h5wasm emscripten module (typed loosely where its .d.ts lacks members we use). */
type H5Mod = H5ModuleBase & {
  _malloc(n: number): number;
  _free(p: number): void;
  HEAPU8: Uint8Array;
};

let readyPromise: Promise<H5Mod> | null = null;

/** HDF5 filter ids we can decode: built-ins plus the h5wasm-plugins set. */
const BUILTIN_FILTERS = new Set([1, 2, 3, 4, 5, 6]); // deflate, shuffle, fletcher32, szip, nbit, scaleoffset
const PLUGIN_FILTERS: Record<number, string> = {
  32000: 'lzf',
  32008: 'bshuf',
  32001: 'blosc',
  32026: 'blosc2',
  32004: 'lz4',
  32015: 'zstd',
  307: 'bz2',
  32013: 'zfp',
  32019: 'jpeg',
  32022: 'bitgroom',
  32023: 'bitround',
};
let availablePlugins = new Set<number>();

/** Initialise h5wasm once: throwing error handler and the compression plugins of h5wasm-plugins. */
export function h5ready(): Promise<H5Mod> {
  if (!readyPromise) {
    readyPromise = (async () => {
      const mod = (await h5wasm.ready) as H5Mod;
      mod.activate_throwing_error_handler();
      // h5wasm-plugins' own install_local_plugins() does exactly this; we do it ourselves so that
      // we know which filter ids are really present on disk.
      try {
        const req = createRequire(import.meta.url);
        const dir = path.join(path.dirname(req.resolve('h5wasm-plugins/package.json')), 'plugins');
        mod.insert_plugin_search_path(dir, 0);
        const present = new Set(fs.readdirSync(dir));
        for (const [id, name] of Object.entries(PLUGIN_FILTERS)) {
          if (present.has(`libH5Z${name}.so`)) availablePlugins.add(Number(id));
        }
      } catch {
        availablePlugins = new Set();
      }
      return mod;
    })();
  }
  return readyPromise;
}

/** Short reason extracted from a (very long) HDF5 error stack. */
export function h5ErrorReason(e: unknown): string {
  const s = String((e as { message?: string })?.message ?? e);
  if (/truncated file/i.test(s)) {
    const m = /truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(s);
    return m ? `truncated HDF5 file (${m[1]} of ${m[2]} bytes present)` : 'truncated HDF5 file';
  }
  if (/file signature not found|Not an HDF5 file/i.test(s)) return 'not an HDF5 file (no HDF5 signature)';
  if (/No such file/i.test(s)) return 'no such file';
  if (/required filter.*not registered|can't open directory|filter.*not available|unable to load/i.test(s)) {
    return 'compression filter not available';
  }
  const lines = s.split('\n').filter((l) => /#\d{3}:/.test(l));
  const last = lines[lines.length - 1];
  if (last) {
    const m = /\): (.*)$/.exec(last);
    if (m) return m[1].trim();
  }
  return s.split('\n')[0].slice(0, 200);
}

/** Options of `H5Reader.open`. */
export interface H5OpenOptions {
  /**
   * Read unfiltered contiguous datasets with positioned reads straight from the file instead of
   * through h5wasm (default true; false forces h5wasm, e.g. to compare the two paths).
   */
  direct?: boolean;
  /**
   * Datasets smaller than this many bytes are read through h5wasm (default 4 MiB): for them the
   * saved copy is worth less than locating and verifying the extent (~1 ms).
   */
  directMinBytes?: number;
}

/** Where a dataset's raw bytes are, when they can be read directly. */
export interface DirectExtent {
  /** Absolute byte offset of element 0 in the file. */
  addr: number;
  /** Bytes of raw data (elements × element size). */
  size: number;
}

/** Largest single pread (Node's limit is 2^31 − 1 bytes). */
const PREAD_MAX = 1 << 30;

/** An open HDF5 file for reading. */
export class H5Reader {
  readonly file: InstanceType<typeof h5wasm.File>;
  readonly id: bigint;
  private closed = false;
  /** Descriptor for metadata parsing, opened on first use. */
  private fd: number | null = null;
  /**
   * One descriptor per directly read dataset: the kernel keeps readahead state per open file, and
   * interleaved reads of visdata, flags and nsamples through one descriptor defeat it (cold cache).
   */
  private dsFds = new Map<string, number>();
  private locator: H5Locator | null = null;
  private readonly direct: boolean;
  private readonly directMin: number;
  /** Per dataset: its direct extent, or why it is read through h5wasm. */
  private extents = new Map<string, DirectExtent | string>();
  private metas = new Map<string, Metadata>();
  private filterLists = new Map<string, Filter[]>();
  private kinds = new Map<string, 'dataset' | 'group' | null>();
  private constructor(
    readonly path: string,
    readonly mod: H5Mod,
    file: InstanceType<typeof h5wasm.File>,
    opts: H5OpenOptions,
    /** File size when HDF5 opened (and validated) it. */
    private readonly openSize: number,
  ) {
    this.file = file;
    this.id = file.file_id;
    this.direct = opts.direct ?? true;
    this.directMin = opts.directMinBytes ?? 4 << 20;
  }

  static async open(p: string, opts: H5OpenOptions = {}): Promise<H5Reader> {
    const mod = await h5ready();
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new InputError(p, 'no such file');
    }
    if (!st.isFile()) throw new InputError(p, 'not a regular file');
    if (st.size === 0) throw new InputError(p, 'empty file (0 bytes), not an HDF5 file');
    let file: InstanceType<typeof h5wasm.File>;
    try {
      file = new h5wasm.File(path.resolve(p), 'r');
    } catch (e) {
      throw new InputError(p, h5ErrorReason(e), e);
    }
    if (typeof file.file_id !== 'bigint' || file.file_id < 0n) {
      throw new InputError(p, 'cannot open as HDF5');
    }
    return new H5Reader(p, mod, file, opts, st.size);
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      for (const fd of [...this.dsFds.values(), ...(this.fd !== null ? [this.fd] : [])]) {
        try {
          fs.closeSync(fd);
        } catch {
          /* already gone */
        }
      }
      this.fd = null;
      this.dsFds.clear();
      try {
        this.file.close();
      } catch {
        /* closing a file whose reads failed can itself fail; nothing more to release */
      }
    }
  }

  /** 'dataset' | 'group' | null if absent. */
  kind(obj: string): 'dataset' | 'group' | null {
    // cached: every h5wasm call costs ~0.1 ms and the file is open read-only
    let k = this.kinds.get(obj);
    if (k === undefined) {
      try {
        const t = this.mod.get_type(this.id, obj);
        k = t === this.mod.H5O_TYPE_DATASET ? 'dataset' : t === this.mod.H5O_TYPE_GROUP ? 'group' : null;
      } catch {
        k = null;
      }
      this.kinds.set(obj, k);
    }
    return k;
  }

  has(obj: string): boolean {
    return this.kind(obj) !== null;
  }

  /** Member names of a group (non-recursive). */
  names(group: string): string[] {
    try {
      return this.mod.get_names(this.id, group, false);
    } catch (e) {
      throw new InputError(this.path, `cannot list ${group}: ${h5ErrorReason(e)}`, e);
    }
  }

  meta(ds: string): Metadata {
    const cached = this.metas.get(ds);
    if (cached) return cached;
    try {
      const m = this.mod.get_dataset_metadata(this.id, ds);
      this.metas.set(ds, m);
      return m;
    } catch (e) {
      throw new InputError(this.path, `cannot read metadata of ${ds}: ${h5ErrorReason(e)}`, e);
    }
  }

  filters(ds: string): Filter[] {
    let f = this.filterLists.get(ds);
    if (!f) {
      f = this.mod.get_dataset_filters(this.id, ds);
      this.filterLists.set(ds, f);
    }
    return f;
  }

  /** Throw a clear InputError if a dataset uses a filter we cannot decode. */
  checkFilters(ds: string): void {
    // HDF5 applies filters only to chunked datasets: skip the h5wasm call for the others
    if (this.meta(ds).chunks === null) return;
    for (const f of this.filters(ds)) {
      if (BUILTIN_FILTERS.has(f.id) || availablePlugins.has(f.id)) continue;
      const name = f.name ? ` "${f.name}"` : '';
      throw new InputError(this.path, `dataset ${ds} uses HDF5 filter ${f.id}${name}, which is not available`);
    }
  }

  /** Small dataset value through h5wasm's high-level reader (metadata only: not for big data). */
  value(ds: string): unknown {
    this.checkFilters(ds);
    const m = this.meta(ds);
    if (m.shape === null) return null; // HDF5 null dataspace (pyuvdata writes these for "None")
    try {
      const d = this.file.get(ds) as unknown as { value: unknown };
      return d.value;
    } catch (e) {
      throw new InputError(this.path, `cannot read ${ds}: ${h5ErrorReason(e)}`, e);
    }
  }

  /**
   * A whole integer or float dataset as Float64Array via raw bytes (fast path for big header
   * arrays such as time_array and uvw_array). Returns null for other datatypes.
   */
  numeric(ds: string): Float64Array | null {
    this.checkFilters(ds);
    const m = this.meta(ds);
    if (m.shape === null) return null;
    const n = m.shape.reduce((a, b) => a * b, 1);
    const sz = m.size;
    if (!((m.type === 1 && (sz === 4 || sz === 8)) || (m.type === 0 && [1, 2, 4, 8].includes(sz)))) return null;
    const raw = new Uint8Array(n * sz);
    if (m.shape.length === 0) this.readAllH5(ds, raw);
    else this.readRaw(ds, m.shape.map(() => 0), m.shape, raw);
    const b = raw.buffer;
    // new Float64Array(typedArray) converts natively; Float64Array.from() walks an iterator (~20x slower)
    if (m.type === 1) return sz === 8 ? new Float64Array(b) : new Float64Array(new Float32Array(b));
    const src =
      sz === 1 ? (m.signed ? new Int8Array(b) : raw) :
      sz === 2 ? (m.signed ? new Int16Array(b) : new Uint16Array(b)) :
      sz === 4 ? (m.signed ? new Int32Array(b) : new Uint32Array(b)) : null;
    if (src) return new Float64Array(src);
    // 64-bit integers from their 32-bit halves: no BigInt per element. Exact below 2^53, which
    // covers every UVH5 integer array (antenna numbers, counts, ids).
    const w = new Uint32Array(b);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const hi = m.signed ? w[2 * i + 1] | 0 : w[2 * i + 1];
      out[i] = hi * 4294967296 + w[2 * i];
    }
    return out;
  }

  /**
   * The dataset's extent in the file if its data can be read directly (unfiltered, contiguous,
   * allocated, little-endian fixed-size elements, verified against h5wasm), else null. Throws
   * InputError when the data would run past the end of the file (truncated file).
   */
  directExtent(ds: string): DirectExtent | null {
    let e = this.extents.get(ds);
    if (e === undefined) {
      e = this.findExtent(ds);
      this.extents.set(ds, e);
    }
    return typeof e === 'string' ? null : e;
  }

  /** Why `ds` is read through h5wasm ('' when it is read directly). */
  directReason(ds: string): string {
    const e = this.directExtent(ds) ?? this.extents.get(ds);
    return typeof e === 'string' ? e : '';
  }

  private findExtent(ds: string): DirectExtent | string {
    if (!this.direct) return 'direct reads disabled';
    const m = this.meta(ds);
    if (!m.shape || m.shape.length === 0) return 'scalar or null dataspace';
    if (m.shape.some((s) => s === 0)) return 'empty';
    if (m.shape.reduce((a, b) => a * b, 1) * m.size < this.directMin) return `smaller than ${this.directMin} bytes`;
    if (m.chunks !== null) return 'chunked';
    if (this.filters(ds).length > 0) return 'filtered';
    const why = rawBytesDiffer(m);
    if (why) return why;
    if (this.fd === null) {
      try {
        this.fd = fs.openSync(this.path, 'r');
      } catch (e) {
        return `cannot open for direct reads: ${String(e)}`;
      }
    }
    const fileSize = fs.fstatSync(this.fd).size;
    this.locator ??= new H5Locator(this.fd, fileSize);
    const loc = this.locator.locate(ds);
    if (loc.kind !== 'contiguous') return loc.reason;
    const n = m.shape.reduce((a, b) => a * b, 1);
    const size = n * m.size;
    if (loc.size !== -1 && loc.size !== size) return `layout size ${loc.size} != ${size} bytes from shape and type`;
    if (loc.addr + size > fileSize) {
      throw new InputError(
        this.path,
        `truncated file: dataset ${ds} needs bytes ${loc.addr}–${loc.addr + size} but the file has only ${fileSize} bytes`,
      );
    }
    // Cheap guard against a parser mistake: the first and last elements must match h5wasm's.
    const ext = { addr: loc.addr, size };
    const rank = m.shape.length;
    for (const idx of [m.shape.map(() => 0), m.shape.map((s) => s - 1)]) {
      const viaH5 = new Uint8Array(m.size);
      this.readRawH5(ds, idx, idx.map(() => 1), viaH5, 0, m.size);
      const viaFd = new Uint8Array(m.size);
      let lin = 0;
      for (let d = 0; d < rank; d++) lin = lin * m.shape[d] + idx[d];
      this.pread(ds, viaFd, 0, m.size, ext.addr + lin * m.size);
      for (let i = 0; i < m.size; i++) if (viaH5[i] !== viaFd[i]) return 'direct read disagrees with h5wasm (layout not understood)';
    }
    this.dsFds.set(ds, fs.openSync(this.path, 'r'));
    return ext;
  }

  /** Positioned read of exactly `len` bytes; a short read means the file is truncated. */
  private pread(ds: string, out: Uint8Array, outOffset: number, len: number, pos: number): void {
    const fd = this.dsFds.get(ds) ?? (this.fd as number);
    let done = 0;
    while (done < len) {
      const n = fs.readSync(fd, out, outOffset + done, Math.min(len - done, PREAD_MAX), pos + done);
      if (n <= 0) {
        const size = fs.fstatSync(fd).size;
        throw new InputError(this.path, `truncated file: dataset ${ds} needs bytes up to ${pos + len} but the file has only ${size} bytes`);
      }
      done += n;
    }
  }

  /**
   * Read a hyperslab (offset/count per dimension, unit stride) as raw little-endian bytes in the
   * dataset's own element type, into `out` at `outOffset`. Large requests are split along the
   * first dimension so that no single wasm allocation exceeds `maxSliceBytes`.
   */
  readRaw(ds: string, offset: number[], count: number[], out: Uint8Array, outOffset = 0, maxSliceBytes = 64 << 20): number {
    const m = this.meta(ds);
    const shape = m.shape ?? [];
    if (offset.length !== shape.length || count.length !== shape.length) {
      throw new InputError(this.path, `${ds}: hyperslab rank ${offset.length} does not match dataset rank ${shape.length}`);
    }
    for (let d = 0; d < shape.length; d++) {
      if (offset[d] < 0 || count[d] < 0 || offset[d] + count[d] > shape[d]) {
        throw new InputError(this.path, `${ds}: hyperslab [${offset}]+[${count}] outside shape [${shape}]`);
      }
    }
    const elem = m.size;
    let rowElems = 1;
    for (let d = 1; d < count.length; d++) rowElems *= count[d];
    const rowBytes = rowElems * elem;
    const nRows = count.length > 0 ? count[0] : 1;
    const total = nRows * rowBytes;
    if (out.length - outOffset < total) throw new Error(`readRaw: output buffer too small for ${ds}`);
    if (total === 0) return 0;
    const ext = this.directExtent(ds);
    if (ext) {
      // One byte range iff, after the first dimension with count ≠ 1, every dimension is whole.
      let k = 0;
      while (k < count.length && count[k] === 1) k++;
      let whole = true;
      for (let d = k + 1; d < count.length; d++) if (offset[d] !== 0 || count[d] !== shape[d]) whole = false;
      if (whole) {
        let lin = 0;
        for (let d = 0; d < shape.length; d++) lin = lin * shape[d] + offset[d];
        this.pread(ds, out, outOffset, total, ext.addr + lin * elem);
        return total;
      }
    }
    return this.readRawH5(ds, offset, count, out, outOffset, maxSliceBytes);
  }

  /**
   * A whole small dataset (e.g. a scalar) as raw bytes through h5wasm: much cheaper than the
   * high-level `.value`, which builds a Dataset object and re-reads its metadata.
   */
  private readAllH5(ds: string, out: Uint8Array): void {
    const n = out.length;
    const ptr = this.mod._malloc(Math.max(n, 8));
    if (ptr === 0) throw new Error(`readAllH5: wasm allocation of ${n} bytes failed`);
    try {
      this.mod.get_dataset_data(this.id, ds, null, null, null, BigInt(ptr));
      out.set(this.mod.HEAPU8.subarray(ptr, ptr + n));
    } catch (e) {
      throw new InputError(this.path, `cannot read ${ds}: ${h5ErrorReason(e)}`, e);
    } finally {
      this.mod._free(ptr);
    }
  }

  /** readRaw through h5wasm's wasm heap (any layout, filters, byte order). */
  private readRawH5(ds: string, offset: number[], count: number[], out: Uint8Array, outOffset: number, maxSliceBytes: number): number {
    // HDF5 zero-fills reads past the end of the file (by design, for the sec2 driver), so a file
    // cut short after it was opened would come back as zeros: refuse instead.
    let now = -1;
    try {
      now = fs.statSync(this.path).size;
    } catch {
      /* unlinked while open: the descriptor still holds the whole file */
    }
    if (now >= 0 && now < this.openSize) {
      throw new InputError(this.path, `truncated file: it shrank from ${this.openSize} to ${now} bytes while open (reading ${ds})`);
    }
    const elem = this.meta(ds).size;
    let rowElems = 1;
    for (let d = 1; d < count.length; d++) rowElems *= count[d];
    const rowBytes = rowElems * elem;
    const nRows = count.length > 0 ? count[0] : 1;
    const total = nRows * rowBytes;
    const rowsPerSlice = Math.max(1, Math.floor(maxSliceBytes / Math.max(rowBytes, 1)));
    const scratchBytes = Math.min(nRows, rowsPerSlice) * rowBytes;
    const ptr = this.mod._malloc(scratchBytes);
    if (ptr === 0) throw new Error(`readRaw: wasm allocation of ${scratchBytes} bytes failed`);
    try {
      for (let r0 = 0; r0 < nRows; r0 += rowsPerSlice) {
        const n = Math.min(rowsPerSlice, nRows - r0);
        const off = offset.map((o, d) => BigInt(d === 0 ? o + r0 : o));
        const cnt = count.map((c, d) => BigInt(d === 0 ? n : c));
        const strides = count.map(() => 1n);
        try {
          this.mod.get_dataset_data(this.id, ds, cnt, off, strides, BigInt(ptr));
        } catch (e) {
          throw new InputError(this.path, `cannot read ${ds}: ${h5ErrorReason(e)}`, e);
        }
        // HEAPU8 may be a new view after memory growth: always take it after the call.
        out.set(this.mod.HEAPU8.subarray(ptr, ptr + n * rowBytes), outOffset + r0 * rowBytes);
      }
    } finally {
      this.mod._free(ptr);
    }
    return total;
  }
}

/**
 * Why the raw file bytes of this datatype would differ from what h5wasm returns ('' if they do
 * not): h5wasm converts big-endian to little-endian, and variable-length or reference data are
 * pointers into the file, not values.
 */
function rawBytesDiffer(m: Metadata): string {
  if (m.vlen) return 'variable-length data';
  switch (m.type) {
    case 0: // integer
    case 1: // float
    case 8: // enum (order is that of its base integer type)
      return m.size === 1 || m.littleEndian ? '' : 'big-endian data';
    case 3: // fixed-length string: bytes, no order
      return '';
    case 6: {
      const members = m.compound_type?.members ?? [];
      if (members.length === 0) return 'compound without members';
      for (const c of members) {
        const w = rawBytesDiffer(c);
        if (w) return `member ${c.name}: ${w}`;
      }
      return '';
    }
    default:
      return `datatype class ${m.type}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing (pure TypeScript)
// ---------------------------------------------------------------------------------------------

/** Datatypes the writer can produce (all little-endian). */
export type H5Type =
  | { cls: 'int'; size: 1 | 2 | 4 | 8; signed: boolean }
  | { cls: 'float'; size: 4 | 8 }
  /** Fixed-length byte string, like numpy `S<n>` in h5py (null-padded, ASCII). */
  | { cls: 'string'; size: number }
  | { cls: 'compound'; size: number; members: { name: string; offset: number; type: H5Type }[] }
  /** numpy bool as h5py stores it: enum of int8 {FALSE: 0, TRUE: 1}. */
  | { cls: 'bool' };

export const T = {
  i8: { cls: 'int', size: 1, signed: true } as H5Type,
  u8: { cls: 'int', size: 1, signed: false } as H5Type,
  i32: { cls: 'int', size: 4, signed: true } as H5Type,
  i64: { cls: 'int', size: 8, signed: true } as H5Type,
  f32: { cls: 'float', size: 4 } as H5Type,
  f64: { cls: 'float', size: 8 } as H5Type,
  bool: { cls: 'bool' } as H5Type,
  str: (n: number): H5Type => ({ cls: 'string', size: Math.max(1, n) }),
  /** numpy complex64 / complex128 as h5py stores them: compound {r, i}. */
  complex: (size: 4 | 8): H5Type => ({
    cls: 'compound',
    size: 2 * size,
    members: [
      { name: 'r', offset: 0, type: { cls: 'float', size } },
      { name: 'i', offset: size, type: { cls: 'float', size } },
    ],
  }),
};

export function typeSize(t: H5Type): number {
  switch (t.cls) {
    case 'bool':
      return 1;
    default:
      return t.size;
  }
}

const UNDEF = 0xffffffffffffffffn;

/** Growable little-endian byte sink. */
class Bytes {
  buf = new Uint8Array(256);
  len = 0;
  private dv = new DataView(this.buf.buffer);
  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }
  u8(v: number): this {
    this.grow(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.grow(2);
    this.dv.setUint16(this.len, v, true);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.grow(4);
    this.dv.setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }
  u64(v: number | bigint): this {
    this.grow(8);
    this.dv.setBigUint64(this.len, BigInt(v), true);
    this.len += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  ascii(s: string, nul = false): this {
    this.bytes(Buffer.from(s, 'latin1'));
    if (nul) this.u8(0);
    return this;
  }
  out(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Datatype message body (HDF5 spec IV.A.2.d). */
function encodeType(t: H5Type, w: Bytes): void {
  switch (t.cls) {
    case 'int':
      w.u8((1 << 4) | 0).u8(t.signed ? 0x08 : 0).u8(0).u8(0).u32(t.size);
      w.u16(0).u16(t.size * 8);
      return;
    case 'float': {
      const f32 = t.size === 4;
      // bit field: mantissa normalisation "implied msb" (2 << 4); byte 1 = sign bit position
      w.u8((1 << 4) | 1).u8(0x20).u8(f32 ? 31 : 63).u8(0).u32(t.size);
      w.u16(0).u16(t.size * 8).u8(f32 ? 23 : 52).u8(f32 ? 8 : 11).u8(0).u8(f32 ? 23 : 52).u32(f32 ? 127 : 1023);
      return;
    }
    case 'string':
      // padding type 1 = null pad (numpy S<n>), character set 0 = ASCII
      w.u8((1 << 4) | 3).u8(0x01).u8(0).u8(0).u32(t.size);
      return;
    case 'compound': {
      const n = t.members.length;
      w.u8((3 << 4) | 6).u8(n & 0xff).u8((n >> 8) & 0xff).u8(0).u32(t.size);
      const offBytes = t.size < 256 ? 1 : t.size < 65536 ? 2 : t.size < 1 << 24 ? 3 : 4;
      for (const m of t.members) {
        w.ascii(m.name, true);
        for (let i = 0; i < offBytes; i++) w.u8((m.offset >>> (8 * i)) & 0xff);
        encodeType(m.type, w);
      }
      return;
    }
    case 'bool':
      w.u8((3 << 4) | 8).u8(2).u8(0).u8(0).u32(1);
      encodeType(T.i8, w);
      w.ascii('FALSE', true).ascii('TRUE', true);
      w.u8(0).u8(1);
      return;
  }
}

interface DatasetNode {
  kind: 'dataset';
  type: H5Type;
  shape: number[];
  data?: Uint8Array;
  bytes: number;
  ohAddr: number;
  dataAddr: number;
}
interface GroupNode {
  kind: 'group';
  children: Map<string, DatasetNode | GroupNode>;
  ohAddr: number;
}

function asBytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Builds an HDF5 file: declare groups and datasets, then `create()` writes it. */
export class H5Builder {
  private root: GroupNode = { kind: 'group', children: new Map(), ohAddr: 0 };

  private parent(p: string): [GroupNode, string] {
    const parts = p.split('/').filter((s) => s.length > 0);
    const name = parts.pop();
    if (!name) throw new Error(`bad HDF5 path ${p}`);
    let g = this.root;
    for (const part of parts) {
      let c = g.children.get(part);
      if (!c) {
        c = { kind: 'group', children: new Map(), ohAddr: 0 };
        g.children.set(part, c);
      }
      if (c.kind !== 'group') throw new Error(`${part} in ${p} is a dataset`);
      g = c;
    }
    return [g, name];
  }

  group(p: string): this {
    const [g, name] = this.parent(p);
    if (!g.children.has(name)) g.children.set(name, { kind: 'group', children: new Map(), ohAddr: 0 });
    return this;
  }

  /**
   * Declare a dataset. `data` (raw little-endian bytes or a typed array of the element type) is
   * written with the metadata; omit it for big datasets and fill them later with `writeAt`.
   * `shape` [] is a scalar.
   */
  dataset(p: string, type: H5Type, shape: number[], data?: ArrayBufferView): this {
    const [g, name] = this.parent(p);
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = n * typeSize(type);
    const raw = data ? asBytes(data) : undefined;
    if (raw && raw.length !== bytes) throw new Error(`dataset ${p}: ${raw.length} bytes given, ${bytes} expected`);
    g.children.set(name, { kind: 'dataset', type, shape, data: raw, bytes, ohAddr: 0, dataAddr: 0 });
    return this;
  }

  /** Convenience: a fixed-length string scalar (numpy `np.bytes_` in h5py). */
  string(p: string, s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.dataset(p, T.str(b.length), [], b.length ? b : new Uint8Array(1));
  }

  /** Fixed-length string array padded to the longest entry (numpy `S<n>` array). */
  strings(p: string, list: string[]): this {
    const enc = list.map((s) => Buffer.from(s, 'utf8'));
    const n = Math.max(1, ...enc.map((b) => b.length));
    const out = new Uint8Array(n * list.length);
    enc.forEach((b, i) => out.set(b, i * n));
    return this.dataset(p, T.str(n), [list.length], out);
  }

  private ohSizeDataset(d: DatasetNode): number {
    const t = new Bytes();
    encodeType(d.type, t);
    // messages: dataspace, datatype, fill value, layout (each with a 4-byte header)
    return 4 + (4 + 8 * d.shape.length) + 4 + t.len + 4 + 2 + 4 + 18;
  }

  private ohSizeGroup(g: GroupNode): number {
    let s = 4 + 18 + 4 + 2;
    for (const name of g.children.keys()) s += 4 + 3 + Buffer.byteLength(name, 'utf8') + 8;
    return s;
  }

  private static ohWrap(messages: Uint8Array): Uint8Array {
    const w = new Bytes();
    w.ascii('OHDR').u8(2).u8(0x02).u32(messages.length).bytes(messages);
    const body = w.out();
    const out = new Uint8Array(body.length + 4);
    out.set(body);
    new DataView(out.buffer).setUint32(body.length, lookup3(body), true);
    return out;
  }

  private encodeDataset(d: DatasetNode): Uint8Array {
    const m = new Bytes();
    // Dataspace (type 1), version 2
    m.u8(1).u16(4 + 8 * d.shape.length).u8(0);
    m.u8(2).u8(d.shape.length).u8(0).u8(d.shape.length === 0 ? 0 : 1);
    for (const s of d.shape) m.u64(s);
    // Datatype (type 3), flagged constant
    const t = new Bytes();
    encodeType(d.type, t);
    m.u8(3).u16(t.len).u8(1).bytes(t.out());
    // Fill value (type 5), version 3: allocation late, write "if set", no fill value defined
    m.u8(5).u16(2).u8(1).u8(3).u8(0x0a);
    // Data layout (type 8), version 3, contiguous
    m.u8(8).u16(18).u8(0).u8(3).u8(1).u64(d.bytes === 0 ? UNDEF : BigInt(d.dataAddr)).u64(d.bytes);
    return H5Builder.ohWrap(m.out());
  }

  private encodeGroup(g: GroupNode): Uint8Array {
    const m = new Bytes();
    // Link info (type 2): no creation order, no dense storage
    m.u8(2).u16(18).u8(0).u8(0).u8(0).u64(UNDEF).u64(UNDEF);
    // Group info (type 10): defaults
    m.u8(10).u16(2).u8(0).u8(0).u8(0);
    for (const [name, child] of g.children) {
      const nb = Buffer.from(name, 'utf8');
      if (nb.length > 255) throw new Error(`HDF5 link name too long: ${name}`);
      m.u8(6).u16(3 + nb.length + 8).u8(0);
      m.u8(1).u8(0).u8(nb.length).bytes(nb).u64(child.ohAddr);
    }
    return H5Builder.ohWrap(m.out());
  }

  /**
   * Write the file's metadata and small datasets to `file` (created/truncated), reserving space
   * for datasets declared without data. Returns a handle to fill those with `writeAt`.
   */
  create(file: string): H5Output {
    // Pass 1: object header addresses (metadata block right after the 48-byte superblock).
    const all: (DatasetNode | GroupNode)[] = [];
    const paths = new Map<DatasetNode, string>();
    const walk = (g: GroupNode, p: string): void => {
      all.push(g);
      for (const [name, c] of g.children) {
        const cp = `${p}/${name}`;
        if (c.kind === 'group') walk(c, cp);
        else {
          all.push(c);
          paths.set(c, cp);
        }
      }
    };
    walk(this.root, '');
    let addr = 48;
    for (const n of all) {
      n.ohAddr = addr;
      const size = 10 + (n.kind === 'group' ? this.ohSizeGroup(n) : this.ohSizeDataset(n)) + 4;
      addr += Math.ceil(size / 8) * 8;
    }
    // Pass 2: raw data: small datasets first, big (reserved) ones 4 KiB-aligned after them.
    const datasets = all.filter((n): n is DatasetNode => n.kind === 'dataset');
    for (const d of datasets) {
      if (d.data) {
        d.dataAddr = addr;
        addr += Math.ceil(d.bytes / 8) * 8;
      }
    }
    for (const d of datasets) {
      if (!d.data && d.bytes > 0) {
        addr = Math.ceil(addr / 4096) * 4096;
        d.dataAddr = addr;
        addr += d.bytes;
      }
    }
    const eof = addr;
    // Serialise the metadata block and small data.
    const metaEnd = datasets.reduce((e, d) => (d.data ? Math.max(e, d.dataAddr + d.bytes) : e), all.length ? 48 : 48);
    const block = new Uint8Array(Math.max(metaEnd, 48 + 8));
    const sb = new Bytes();
    sb.bytes(Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
    sb.u8(2).u8(8).u8(8).u8(0).u64(0).u64(UNDEF).u64(eof).u64(this.root.ohAddr);
    const sbb = sb.out();
    block.set(sbb, 0);
    new DataView(block.buffer).setUint32(44, lookup3(sbb), true);
    for (const n of all) block.set(n.kind === 'group' ? this.encodeGroup(n) : this.encodeDataset(n), n.ohAddr);
    for (const d of datasets) if (d.data) block.set(d.data, d.dataAddr);

    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, block, 0, block.length, 0);
      fs.ftruncateSync(fd, eof);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    const offsets = new Map<string, { addr: number; bytes: number }>();
    for (const d of datasets) offsets.set(paths.get(d) as string, { addr: d.dataAddr, bytes: d.bytes });
    return new H5Output(fd, offsets);
  }
}

/** An HDF5 file being written: fill reserved datasets at byte offsets, then close. */
export class H5Output {
  constructor(private fd: number, readonly offsets: Map<string, { addr: number; bytes: number }>) {}

  /** Write `data` (raw element bytes) into dataset `ds` starting `byteOffset` bytes into it. */
  writeAt(ds: string, byteOffset: number, data: ArrayBufferView): void {
    const o = this.offsets.get(ds.startsWith('/') ? ds : `/${ds}`);
    if (!o) throw new Error(`no dataset ${ds} in the file being written`);
    const b = asBytes(data);
    if (byteOffset < 0 || byteOffset + b.length > o.bytes) throw new Error(`write outside dataset ${ds}`);
    let done = 0;
    while (done < b.length) {
      done += fs.writeSync(this.fd, b, done, b.length - done, o.addr + byteOffset + done);
    }
  }

  /** fsync and close. */
  close(sync = true): void {
    try {
      if (sync) fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
  }
}
