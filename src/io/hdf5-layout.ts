/**
 * Finds where a contiguous HDF5 dataset's raw data sit in the file, by parsing just enough of the
 * HDF5 format (superblock, object headers, group links, Data Layout message) in TypeScript.
 *
 * Why: h5wasm reads every byte through its wasm heap (kernel → wasm → JS, two copies). For an
 * unfiltered contiguous dataset, a row-major slice along the first axis is one byte range of the
 * file, so it can be read with one pread straight into the caller's typed array. h5wasm does not
 * expose H5Dget_offset, hence this parser.
 *
 * The parser only has to be right or say "don't know": anything it does not handle (dense link
 * storage, soft links, shared or unknown layout messages, chunked/compact/virtual/external data,
 * bad checksums) yields `{ kind: 'other' }` and the caller uses h5wasm. Format reference: the
 * HDF5 File Format Specification version 3 (sections II–IV); our own writer in hdf5.ts is a
 * worked example of superblock v2 / object header v2.
 */
import * as fs from 'node:fs';
import { lookup3 } from './hdf5-checksum.js';

export type DatasetLocation =
  /** `addr`: absolute byte offset in the file; `size`: bytes of raw data stored there. */
  | { kind: 'contiguous'; addr: number; size: number }
  | { kind: 'other'; reason: string };

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const UNDEF = -1;

interface Message {
  type: number;
  flags: number;
  data: Buffer;
}

/** Thrown inside the parser for anything unexpected; turned into `{ kind: 'other' }`. */
class Unsupported extends Error {}

/** Read-only view of one HDF5 file's metadata via positioned reads on an open descriptor. */
export class H5Locator {
  private base = 0;
  private so = 8; // size of offsets
  private sl = 8; // size of lengths
  private rootAddr = UNDEF;
  private initError: string | null = null;

  constructor(private readonly fd: number, private readonly fileSize: number) {
    try {
      this.readSuperblock();
    } catch (e) {
      this.initError = e instanceof Unsupported ? e.message : `superblock: ${String(e)}`;
    }
  }

  /** Where the raw data of dataset `path` (e.g. "Data/visdata") are, if contiguous. */
  locate(path: string): DatasetLocation {
    if (this.initError) return { kind: 'other', reason: this.initError };
    try {
      let oh = this.rootAddr;
      for (const part of path.split('/').filter((s) => s.length > 0)) oh = this.child(oh, part);
      return this.layout(this.messages(oh));
    } catch (e) {
      if (e instanceof Unsupported) return { kind: 'other', reason: e.message };
      return { kind: 'other', reason: `parse error: ${String((e as Error)?.message ?? e)}` };
    }
  }

  // -------------------------------------------------------------------------------------------
  // low-level reads

  private read(addr: number, len: number): Buffer {
    if (addr < 0 || len < 0 || addr + len > this.fileSize) throw new Unsupported(`metadata at ${addr}+${len} beyond end of file`);
    const b = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
      const n = fs.readSync(this.fd, b, done, len - done, addr + done);
      if (n <= 0) throw new Unsupported(`short read of metadata at ${addr}`);
      done += n;
    }
    return b;
  }

  /** Relative file address → absolute offset. */
  private abs(a: number): number {
    if (a === UNDEF) throw new Unsupported('undefined address');
    return this.base + a;
  }

  /** Unsigned little-endian integer of 1–8 bytes; all-ones → UNDEF; beyond 2^53 → Unsupported. */
  private static uint(b: Buffer, p: number, size: number): number {
    if (p + size > b.length) throw new Unsupported('message truncated');
    let allOnes = true;
    for (let i = 0; i < size; i++) if (b[p + i] !== 0xff) allOnes = false;
    if (allOnes) return UNDEF;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + b[p + i];
    if (!Number.isSafeInteger(v)) throw new Unsupported('address beyond 2^53');
    return v;
  }
  private off(b: Buffer, p: number): number {
    return H5Locator.uint(b, p, this.so);
  }
  private len(b: Buffer, p: number): number {
    return H5Locator.uint(b, p, this.sl);
  }

  private static checksumOk(b: Buffer, end: number): boolean {
    return lookup3(b.subarray(0, end)) === b.readUInt32LE(end);
  }

  // -------------------------------------------------------------------------------------------
  // superblock

  private readSuperblock(): void {
    // The superblock is at 0 or after a user block of 512·2^k bytes; the library then takes
    // the superblock position as the base address, and so do we.
    let at = -1;
    const probe = Buffer.alloc(8);
    for (let pos = 0; pos + 8 <= this.fileSize; pos = pos === 0 ? 512 : pos * 2) {
      fs.readSync(this.fd, probe, 0, 8, pos);
      if (SIGNATURE.every((c, i) => probe[i] === c)) {
        at = pos;
        break;
      }
    }
    if (at < 0) throw new Unsupported('no HDF5 signature');
    this.base = at;
    const head = this.read(at, Math.min(this.fileSize - at, 256));
    const version = head[8];
    if (version === 0 || version === 1) {
      this.so = head[13];
      this.sl = head[14];
      this.checkSizes();
      let p = version === 0 ? 24 : 28;
      p += 4 * this.so; // base, free-space, EOF, driver-info addresses
      // root group symbol table entry: link name offset, object header address, ...
      this.rootAddr = this.off(head, p + this.so);
    } else if (version === 2 || version === 3) {
      this.so = head[9];
      this.sl = head[10];
      this.checkSizes();
      const end = 12 + 4 * this.so;
      if (!H5Locator.checksumOk(head, end)) throw new Unsupported('superblock checksum mismatch');
      this.rootAddr = this.off(head, 12 + 3 * this.so);
    } else {
      throw new Unsupported(`superblock version ${version}`);
    }
    if (this.rootAddr === UNDEF) throw new Unsupported('no root group');
  }

  private checkSizes(): void {
    if (![2, 4, 8].includes(this.so) || ![2, 4, 8].includes(this.sl)) {
      throw new Unsupported(`unsupported sizes of offsets/lengths ${this.so}/${this.sl}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // object headers

  /** All messages of the object header at relative address `rel`, following continuations. */
  private messages(rel: number): Message[] {
    const addr = this.abs(rel);
    const first = this.read(addr, Math.min(512, this.fileSize - addr));
    const out: Message[] = [];
    const conts: [number, number][] = [];
    if (first.toString('latin1', 0, 4) === 'OHDR') {
      if (first[4] !== 2) throw new Unsupported(`object header version ${first[4]}`);
      const flags = first[5];
      let p = 6;
      if (flags & 0x20) p += 16; // access/modification/change/birth times
      if (flags & 0x10) p += 4; // attribute phase-change values
      const szBytes = 1 << (flags & 3);
      const size = H5Locator.uint(first, p, szBytes);
      p += szBytes;
      const chunk = this.read(addr, p + size + 4);
      if (!H5Locator.checksumOk(chunk, p + size)) throw new Unsupported('object header checksum mismatch');
      this.parseV2(chunk, p, p + size, (flags & 0x04) !== 0, out, conts);
      for (let i = 0; i < conts.length; i++) {
        const [ca, cl] = conts[i];
        const c = this.read(this.abs(ca), cl);
        if (c.toString('latin1', 0, 4) !== 'OCHK') throw new Unsupported('bad continuation block signature');
        if (!H5Locator.checksumOk(c, cl - 4)) throw new Unsupported('continuation block checksum mismatch');
        this.parseV2(c, 4, cl - 4, (flags & 0x04) !== 0, out, conts);
      }
    } else if (first[0] === 1) {
      const size = first.readUInt32LE(8);
      const chunk = this.read(addr + 16, size);
      this.parseV1(chunk, out, conts);
      for (let i = 0; i < conts.length; i++) {
        const [ca, cl] = conts[i];
        this.parseV1(this.read(this.abs(ca), cl), out, conts);
      }
    } else {
      throw new Unsupported(`object header version ${first[0]}`);
    }
    return out;
  }

  private continuation(data: Buffer, conts: [number, number][]): void {
    if (conts.length > 1000) throw new Unsupported('too many continuation blocks');
    conts.push([this.off(data, 0), this.len(data, this.so)]);
  }

  private parseV1(b: Buffer, out: Message[], conts: [number, number][]): void {
    let p = 0;
    while (p + 8 <= b.length) {
      const type = b.readUInt16LE(p);
      const size = b.readUInt16LE(p + 2);
      const flags = b[p + 4];
      const data = b.subarray(p + 8, p + 8 + size);
      if (data.length !== size) throw new Unsupported('object header message overruns its block');
      if (type === 0x10) this.continuation(data, conts);
      else if (type !== 0) out.push({ type, flags, data });
      p += 8 + size;
    }
  }

  private parseV2(b: Buffer, p: number, end: number, crtOrder: boolean, out: Message[], conts: [number, number][]): void {
    const hdr = crtOrder ? 6 : 4;
    while (p + hdr <= end) {
      const type = b[p];
      const size = b.readUInt16LE(p + 1);
      const flags = b[p + 3];
      const d0 = p + hdr;
      if (d0 + size > end) throw new Unsupported('object header message overruns its chunk');
      const data = b.subarray(d0, d0 + size);
      if (type === 0x10) this.continuation(data, conts);
      else if (type !== 0) out.push({ type, flags, data });
      p = d0 + size;
    }
  }

  // -------------------------------------------------------------------------------------------
  // groups

  /** Object header address of the hard link `name` in the group whose header is at `groupRel`. */
  private child(groupRel: number, name: string): number {
    const msgs = this.messages(groupRel);
    for (const m of msgs) {
      if (m.type === 0x06) {
        const link = this.parseLink(m.data);
        if (link.name === name) {
          if (link.addr === null) throw new Unsupported(`${name} is a soft or external link`);
          return link.addr;
        }
      }
    }
    const st = msgs.find((m) => m.type === 0x11);
    if (st) {
      const found = this.symbolTableLookup(this.off(st.data, 0), this.off(st.data, this.so), name);
      if (found !== null) return found;
    }
    if (msgs.some((m) => m.type === 0x02 && this.linkInfoIsDense(m.data))) {
      throw new Unsupported('group uses dense link storage');
    }
    throw new Unsupported(`no link ${name}`);
  }

  /** Link message (type 6): name and, for hard links, the target address. */
  private parseLink(d: Buffer): { name: string; addr: number | null } {
    if (d[0] !== 1) throw new Unsupported(`link message version ${d[0]}`);
    const flags = d[1];
    let p = 2;
    let linkType = 0;
    if (flags & 0x08) linkType = d[p++];
    if (flags & 0x04) p += 8; // creation order
    if (flags & 0x10) p += 1; // name character set
    const lenBytes = 1 << (flags & 3);
    const nameLen = H5Locator.uint(d, p, lenBytes);
    p += lenBytes;
    if (p + nameLen > d.length) throw new Unsupported('link name overruns message');
    const name = d.toString('utf8', p, p + nameLen);
    p += nameLen;
    return { name, addr: linkType === 0 ? this.off(d, p) : null };
  }

  private linkInfoIsDense(d: Buffer): boolean {
    const p = 2 + (d[1] & 1 ? 8 : 0);
    return this.off(d, p) !== UNDEF;
  }

  /** Old-style group: v1 B-tree of symbol nodes, names in a local heap. */
  private symbolTableLookup(btreeRel: number, heapRel: number, name: string): number | null {
    const heap = this.read(this.abs(heapRel), 8 + 2 * this.sl + this.so);
    if (heap.toString('latin1', 0, 4) !== 'HEAP') throw new Unsupported('bad local heap signature');
    const heapSize = this.len(heap, 8);
    const heapData = this.read(this.abs(this.off(heap, 8 + 2 * this.sl)), heapSize);
    const nameAt = (o: number): string => {
      const e = heapData.indexOf(0, o);
      return heapData.toString('utf8', o, e < 0 ? heapData.length : e);
    };
    const entry = 2 * this.so + 24; // symbol table entry size
    let budget = 100000; // nodes visited: a corrupt (cyclic) tree must not loop for ever
    const visit = (rel: number, depth: number): number | null => {
      if (depth > 64 || --budget < 0) throw new Unsupported('B-tree too deep or cyclic');
      const hdr = 8 + 2 * this.so;
      const h = this.read(this.abs(rel), hdr);
      if (h.toString('latin1', 0, 4) !== 'TREE') throw new Unsupported('bad B-tree node signature');
      if (h[4] !== 0) throw new Unsupported('B-tree is not a group node');
      const level = h[5];
      const used = h.readUInt16LE(6);
      const body = this.read(this.abs(rel) + hdr, used * (this.sl + this.so) + this.sl);
      for (let i = 0; i < used; i++) {
        const childRel = this.off(body, i * (this.sl + this.so) + this.sl);
        if (level > 0) {
          const r = visit(childRel, depth + 1);
          if (r !== null) return r;
          continue;
        }
        const sn = this.read(this.abs(childRel), 8);
        if (sn.toString('latin1', 0, 4) !== 'SNOD') throw new Unsupported('bad symbol node signature');
        const n = sn.readUInt16LE(6);
        const syms = this.read(this.abs(childRel) + 8, n * entry);
        for (let k = 0; k < n; k++) {
          if (nameAt(this.off(syms, k * entry)) === name) return this.off(syms, k * entry + this.so);
        }
      }
      return null;
    };
    return visit(btreeRel, 0);
  }

  // -------------------------------------------------------------------------------------------
  // datasets

  private layout(msgs: Message[]): DatasetLocation {
    const fp = msgs.find((m) => m.type === 0x0b);
    if (fp) return { kind: 'other', reason: 'filter pipeline present' };
    if (msgs.some((m) => m.type === 0x07)) return { kind: 'other', reason: 'external data files' };
    const lm = msgs.filter((m) => m.type === 0x08);
    if (lm.length !== 1) return { kind: 'other', reason: lm.length ? 'several layout messages' : 'no layout message (not a dataset?)' };
    const { data: d, flags } = lm[0];
    if (flags & 0x02) return { kind: 'other', reason: 'shared layout message' };
    const version = d[0];
    if (version === 3 || version === 4) {
      const cls = d[1];
      if (cls !== 1) return { kind: 'other', reason: ['compact', 'contiguous', 'chunked', 'virtual'][cls] ?? `layout class ${cls}` };
      const addr = this.off(d, 2);
      const size = this.len(d, 2 + this.so);
      if (addr === UNDEF) return { kind: 'other', reason: 'storage not allocated (fill values only)' };
      return { kind: 'contiguous', addr: this.abs(addr), size };
    }
    if (version === 1 || version === 2) {
      const rank = d[1];
      const cls = d[2];
      if (cls !== 1) return { kind: 'other', reason: cls === 0 ? 'compact' : cls === 2 ? 'chunked' : `layout class ${cls}` };
      const addr = this.off(d, 8);
      if (addr === UNDEF) return { kind: 'other', reason: 'storage not allocated (fill values only)' };
      // v1/v2 contiguous layouts store the dataset dimensions (no element size), not a byte count:
      // size -1 tells the caller to use the size computed from the dataspace and datatype.
      void rank;
      return { kind: 'contiguous', addr: this.abs(addr), size: -1 };
    }
    return { kind: 'other', reason: `layout message version ${version}` };
  }
}
