/**
 * FITS reading and writing (primary HDU images, extensions skipped or listed).
 *
 * Written from the FITS 4.0 standard because fitsjs does not run in Node. Scope: 2880-byte
 * blocks of 80-character cards; string / logical / integer / float values; BITPIX 8, 16, 32,
 * 64, −32, −64 with BSCALE/BZERO and BLANK; big-endian data converted to Float32Array or
 * Float64Array. CONTINUE long strings are not supported (read as separate cards).
 */
import { promises as fsp, openSync, closeSync, readSync, fstatSync } from 'node:fs';
import * as path from 'node:path';
import { InputError, DsaError } from '../util/errors.js';
import type { Wcs } from '../astro/wcs.js';
import { tempSiblingName, fsyncDir, ioError } from '../util/atomic.js';

export const FITS_BLOCK = 2880;
const CARD = 80;

/** A header value: string, logical, number, or undefined for commentary/valueless cards. */
export type FitsValue = string | boolean | number | undefined;

/** One 80-character header card. */
export interface FitsCard {
  /** Keyword, upper case, ≤ 8 characters ('' for a blank card). */
  key: string;
  value: FitsValue;
  comment?: string;
  /**
   * How a number is written: integers by default when Number.isInteger(value), unless 'float'.
   * Readers set this from the card text so that a round trip keeps "1.0" as a float.
   */
  numberKind?: 'int' | 'float';
}

/** Keywords whose value field is free text (no '= '). */
const COMMENTARY = new Set(['COMMENT', 'HISTORY', '']);

/** An ordered list of header cards with typed get/set helpers. END is implicit. */
export class FitsHeader {
  readonly cards: FitsCard[];

  constructor(cards: FitsCard[] = []) {
    this.cards = cards;
  }

  private indexOf(key: string): number {
    const k = key.toUpperCase();
    return this.cards.findIndex((c) => c.key === k);
  }

  has(key: string): boolean {
    return this.indexOf(key) >= 0;
  }

  /** The value of the first card with this keyword, or undefined. */
  get(key: string): FitsValue {
    const i = this.indexOf(key);
    return i >= 0 ? this.cards[i].value : undefined;
  }

  getNumber(key: string): number | undefined;
  getNumber(key: string, dflt: number): number;
  getNumber(key: string, dflt?: number): number | undefined {
    const v = this.get(key);
    if (typeof v === 'number') return v;
    return dflt;
  }

  getString(key: string): string | undefined;
  getString(key: string, dflt: string): string;
  getString(key: string, dflt?: string): string | undefined {
    const v = this.get(key);
    if (typeof v === 'string') return v;
    return dflt;
  }

  getBool(key: string): boolean | undefined {
    const v = this.get(key);
    return typeof v === 'boolean' ? v : undefined;
  }

  /**
   * Set a keyword's value (replacing the first existing card, else appending). Numbers that are
   * integers are written as integers; use setFloat to force a decimal point.
   */
  set(key: string, value: string | boolean | number, comment?: string): this {
    const k = checkKey(key);
    if (COMMENTARY.has(k)) throw new DsaError(`FITS: use addHistory/addComment for ${k}`);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new DsaError(`FITS: keyword ${k} value ${value} is not finite`);
    }
    const i = this.indexOf(k);
    const card: FitsCard = { key: k, value, comment };
    if (i >= 0) {
      if (comment === undefined) card.comment = this.cards[i].comment;
      this.cards[i] = card;
    } else {
      this.cards.push(card);
    }
    return this;
  }

  /** Set a numeric keyword written in floating-point form even if the value is integral. */
  setFloat(key: string, value: number, comment?: string): this {
    this.set(key, value, comment);
    this.cards[this.indexOf(key)].numberKind = 'float';
    return this;
  }

  delete(key: string): boolean {
    const k = key.toUpperCase();
    const before = this.cards.length;
    for (let i = this.cards.length - 1; i >= 0; i--) if (this.cards[i].key === k) this.cards.splice(i, 1);
    return this.cards.length !== before;
  }

  /** Append HISTORY cards; long text is split over several cards (72 characters each). */
  addHistory(text: string): this {
    return this.addCommentary('HISTORY', text);
  }

  addComment(text: string): this {
    return this.addCommentary('COMMENT', text);
  }

  /** All HISTORY texts in order. */
  history(): string[] {
    return this.cards.filter((c) => c.key === 'HISTORY').map((c) => String(c.value ?? ''));
  }

  private addCommentary(key: string, text: string): this {
    const clean = toAscii(text);
    if (clean.length === 0) this.cards.push({ key, value: '' });
    for (let i = 0; i < clean.length; i += 72) this.cards.push({ key, value: clean.slice(i, i + 72) });
    return this;
  }

  clone(): FitsHeader {
    return new FitsHeader(this.cards.map((c) => ({ ...c })));
  }

  /** Encode as whole 2880-byte blocks including the END card (space padded). */
  encode(): Buffer {
    const lines = this.cards.flatMap(formatCard);
    const firstLong = lines.findIndex((l) => l.startsWith('CONTINUE'));
    if (firstLong > 0 && !this.has('LONGSTRN')) {
      // fitsverify warns about CONTINUE cards without the LONGSTRN declaration (HEASARC).
      lines.splice(firstLong - 1, 0, ...formatCard({ key: 'LONGSTRN', value: 'OGIP 1.0', comment: 'long string convention (CONTINUE) is used' }));
    }
    lines.push('END'.padEnd(CARD, ' '));
    const nBlocks = Math.ceil((lines.length * CARD) / FITS_BLOCK);
    const buf = Buffer.alloc(nBlocks * FITS_BLOCK, 0x20);
    buf.write(lines.join(''), 0, 'latin1');
    return buf;
  }
}

function checkKey(key: string): string {
  const k = key.toUpperCase();
  if (k.length > 8 || !/^[A-Z0-9_-]*$/.test(k)) {
    throw new DsaError(`FITS: keyword '${key}' must be ≤ 8 characters of A-Z 0-9 _ -`);
  }
  return k;
}

/** Replace non-printable / non-ASCII characters: FITS headers are restricted ASCII 32–126. */
function toAscii(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

/** Format a float for a fixed-format value field: shortest round-trip that fits in 20 chars. */
export function formatFitsFloat(v: number): string {
  if (!Number.isFinite(v)) throw new DsaError(`FITS: cannot write non-finite value ${v}`);
  let s = String(v);
  if (!s.includes('e') && !s.includes('.')) s += '.0';
  const fix = (t: string): string => {
    // JS writes "1e-7" / "1.5e+21": FITS wants an upper-case E and a decimal point.
    const m = /^(-?\d+)(\.\d+)?e([+-]\d+)$/.exec(t);
    if (!m) return t;
    const exp = Number(m[3]);
    const expStr = (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
    return `${m[1]}${m[2] ?? '.0'}E${expStr}`;
  };
  s = fix(s);
  // Too long: most significant digits that fit (fixed or exponent form, as toPrecision picks).
  for (let digits = 16; s.length > 20 && digits > 0; digits--) {
    s = fix(v.toPrecision(digits));
    if (!s.includes('E') && !s.includes('.')) s += '.0';
  }
  return s;
}

/** Format one card; a long string value becomes several cards (CONTINUE long-string convention). */
function formatCard(c: FitsCard): string[] {
  if (COMMENTARY.has(c.key) || c.value === undefined) {
    // A valueless non-commentary keyword keeps no '= ' so that readers see no value.
    const text = c.value === undefined ? (c.comment ?? '') : String(c.value);
    return [(c.key.padEnd(8, ' ') + toAscii(text)).slice(0, CARD).padEnd(CARD, ' ')];
  }
  const comment = c.comment ? ' / ' + toAscii(c.comment) : '';
  if (typeof c.value === 'string') {
    const raw = toAscii(c.value);
    const esc = raw.replace(/'/g, "''");
    if (esc.length <= 68) {
      const line = c.key.padEnd(8, ' ') + '= ' + ("'" + esc.padEnd(8, ' ') + "'").padEnd(20, ' ');
      return [(line + comment).slice(0, CARD).padEnd(CARD, ' ')];
    }
    // Split the raw text so that no escaped quote pair straddles two cards; ≤ 67 chars + '&'.
    const pieces: string[] = [];
    let cur = '';
    for (const ch of raw) {
      const e = ch === "'" ? "''" : ch;
      if (cur.length + e.length > 67) {
        pieces.push(cur);
        cur = '';
      }
      cur += e;
    }
    pieces.push(cur);
    const lines = pieces.map((p, i) => {
      const amp = i < pieces.length - 1 ? '&' : '';
      const head = i === 0 ? c.key.padEnd(8, ' ') + '= ' : 'CONTINUE  ';
      return head + "'" + p + amp + "'";
    });
    const last = lines.length - 1;
    lines[last] = (lines[last] + comment).slice(0, CARD);
    return lines.map((l) => l.padEnd(CARD, ' '));
  }
  let v: string;
  if (typeof c.value === 'boolean') {
    v = (c.value ? 'T' : 'F').padStart(20, ' ');
  } else if (Number.isInteger(c.value) && c.numberKind !== 'float' && Math.abs(c.value) < 1e19) {
    v = c.value.toFixed(0).padStart(20, ' ');
  } else {
    v = formatFitsFloat(c.value).padStart(20, ' ');
  }
  // Comments are truncated to fit, as astropy does.
  return [(c.key.padEnd(8, ' ') + '= ' + v + comment).slice(0, CARD).padEnd(CARD, ' ')];
}

/** Parse a quoted FITS string starting at field[i] === "'"; '' is an escaped quote. */
function parseQuoted(field: string, i: number, key: string): { value: string; rest: string } {
  let s = '';
  let j = i + 1;
  for (;;) {
    if (j >= field.length) throw new Error(`unterminated string in card ${key}`);
    if (field[j] === "'") {
      if (field[j + 1] === "'") {
        s += "'";
        j += 2;
        continue;
      }
      break;
    }
    s += field[j++];
  }
  return { value: s.trimEnd(), rest: field.slice(j + 1) };
}

/** Parse one 80-character card. Throws a plain Error with the reason (caller adds the file). */
function parseCard(text: string): FitsCard {
  const key = text.slice(0, 8).trimEnd();
  if (COMMENTARY.has(key) || text.slice(8, 10) !== '= ') {
    const rest = text.slice(8).trimEnd();
    return COMMENTARY.has(key) ? { key, value: rest } : { key, value: undefined, comment: rest || undefined };
  }
  const field = text.slice(10);
  let i = 0;
  while (i < field.length && field[i] === ' ') i++;
  let value: FitsValue;
  let numberKind: 'int' | 'float' | undefined;
  let rest: string;
  if (field[i] === "'") {
    // String: '' is an escaped quote; trailing spaces are not significant.
    ({ value, rest } = parseQuoted(field, i, key));
  } else {
    const slash = field.indexOf('/', i);
    const raw = (slash >= 0 ? field.slice(i, slash) : field.slice(i)).trim();
    rest = slash >= 0 ? field.slice(slash) : '';
    if (raw === '') value = undefined;
    else if (raw === 'T') value = true;
    else if (raw === 'F') value = false;
    else if (/^[+-]?\d+$/.test(raw)) {
      value = Number(raw);
      numberKind = 'int';
    } else {
      const n = Number(raw.replace(/[dD]/, 'E'));
      if (Number.isNaN(n)) {
        // Complex values "(re, im)" and other oddities: keep the raw text rather than fail.
        value = raw;
      } else {
        value = n;
        numberKind = 'float';
      }
    }
  }
  const slash = rest.indexOf('/');
  const comment = slash >= 0 ? rest.slice(slash + 1).trim() : undefined;
  const card: FitsCard = { key, value, comment: comment || undefined };
  if (numberKind) card.numberKind = numberKind;
  return card;
}

/** Where one HDU lies in a file. */
export interface FitsHduInfo {
  index: number;
  header: FitsHeader;
  /** Byte offset of the header and of the data. */
  headerOffset: number;
  dataOffset: number;
  /** Bytes of data (without padding). */
  dataBytes: number;
  /** XTENSION value ('PRIMARY' for HDU 0). */
  type: string;
}

/** Parse a header starting at `offset`; returns the header and the offset after its END block. */
function parseHeaderAt(buf: Uint8Array, offset: number, subject: string): { header: FitsHeader; end: number } {
  const cards: FitsCard[] = [];
  let pos = offset;
  for (;;) {
    if (pos + FITS_BLOCK > buf.length) {
      throw new InputError(subject, `truncated FITS header (no END card before byte ${buf.length})`);
    }
    for (let c = 0; c < FITS_BLOCK / CARD; c++) {
      const start = pos + c * CARD;
      const text = Buffer.from(buf.buffer, buf.byteOffset + start, CARD).toString('latin1');
      if (text.startsWith('END') && text.slice(3).trim() === '') {
        return { header: new FitsHeader(cards), end: pos + FITS_BLOCK };
      }
      if (text.trim() === '') continue; // blank padding cards
      try {
        const prev = cards[cards.length - 1];
        if (text.startsWith('CONTINUE') && prev && typeof prev.value === 'string' && prev.value.endsWith('&')) {
          // Long-string convention: append to the previous value (without its '&').
          const field = text.slice(8);
          const q = field.indexOf("'");
          if (q >= 0 && field.slice(0, q).trim() === '') {
            const { value, rest } = parseQuoted(field, q, 'CONTINUE');
            prev.value = prev.value.slice(0, -1) + value;
            const sl = rest.indexOf('/');
            if (sl >= 0) prev.comment = rest.slice(sl + 1).trim() || prev.comment;
            continue;
          }
        }
        cards.push(parseCard(text));
      } catch (e) {
        throw new InputError(subject, `bad FITS card at byte ${start}: ${(e as Error).message}`);
      }
    }
    pos += FITS_BLOCK;
  }
}

/** Data size in bytes declared by a header (standard formula incl. PCOUNT/GCOUNT, random groups). */
export function dataByteCount(h: FitsHeader, subject = 'FITS'): number {
  const bitpix = h.getNumber('BITPIX');
  const naxis = h.getNumber('NAXIS');
  if (bitpix === undefined || ![8, 16, 32, 64, -32, -64].includes(bitpix)) {
    throw new InputError(subject, `invalid or missing BITPIX (${String(h.get('BITPIX'))})`);
  }
  if (naxis === undefined || naxis < 0 || naxis > 999 || !Number.isInteger(naxis)) {
    throw new InputError(subject, `invalid or missing NAXIS (${String(h.get('NAXIS'))})`);
  }
  if (naxis === 0) return 0;
  let n = 1;
  const groups = h.getBool('GROUPS') === true && h.getNumber('NAXIS1') === 0;
  for (let i = groups ? 2 : 1; i <= naxis; i++) {
    const v = h.getNumber(`NAXIS${i}`);
    if (v === undefined || v < 0 || !Number.isInteger(v)) throw new InputError(subject, `invalid or missing NAXIS${i}`);
    n *= v;
  }
  const pcount = h.getNumber('PCOUNT', 0);
  const gcount = h.getNumber('GCOUNT', 1);
  return (Math.abs(bitpix) / 8) * gcount * (pcount + n);
}

function checkIsFits(buf: Uint8Array, subject: string): void {
  if (buf.length < FITS_BLOCK) throw new InputError(subject, `not a FITS file (only ${buf.length} bytes)`);
  const first = Buffer.from(buf.buffer, buf.byteOffset, 30).toString('latin1');
  if (!/^SIMPLE  =\s+T/.test(first)) throw new InputError(subject, 'not a FITS file (no SIMPLE = T card)');
}

/** List every HDU in an in-memory FITS file. Truncated data in any HDU is an InputError. */
export function listHdus(buf: Uint8Array, subject = 'FITS'): FitsHduInfo[] {
  checkIsFits(buf, subject);
  const out: FitsHduInfo[] = [];
  let pos = 0;
  while (pos < buf.length) {
    // Trailing zero/space padding after the last HDU is tolerated, as astropy does.
    if (out.length > 0 && !Buffer.from(buf.buffer, buf.byteOffset + pos, Math.min(8, buf.length - pos)).toString('latin1').startsWith('XTENSION')) break;
    const { header, end } = parseHeaderAt(buf, pos, subject);
    const dataBytes = dataByteCount(header, subject);
    if (end + dataBytes > buf.length) {
      throw new InputError(subject, `truncated FITS file: HDU ${out.length} needs ${end + dataBytes} bytes, file has ${buf.length}`);
    }
    out.push({
      index: out.length,
      header,
      headerOffset: pos,
      dataOffset: end,
      dataBytes,
      type: out.length === 0 ? 'PRIMARY' : String(header.get('XTENSION') ?? '').trim(),
    });
    pos = end + Math.ceil(dataBytes / FITS_BLOCK) * FITS_BLOCK;
  }
  return out;
}

/** An image HDU: header, axis lengths (NAXIS1 first, i.e. fastest varying first) and pixels. */
export interface FitsImage {
  header: FitsHeader;
  /** [NAXIS1, NAXIS2, ...]; data index = i1 + NAXIS1·(i2 + NAXIS2·(i3 + …)). */
  shape: number[];
  bitpix: number;
  data: Float32Array | Float64Array;
}

export interface ReadFitsOptions {
  /** HDU index (0 = primary, default) or EXTNAME. */
  hdu?: number | string;
  /**
   * Output element type. Default: float32 for BITPIX 8, 16, −32; float64 for 32, 64, −64.
   */
  as?: 'float32' | 'float64';
}

/** Decode an image HDU from an in-memory FITS file. */
export function readFitsBuffer(buf: Uint8Array, subject = 'FITS', opts: ReadFitsOptions = {}): FitsImage {
  return readImageHdu(buf, subject, opts, false);
}

function readImageHdu(buf: Uint8Array, subject: string, opts: ReadFitsOptions, owned: boolean): FitsImage {
  const hdus = listHdus(buf, subject);
  const want = opts.hdu ?? 0;
  const info =
    typeof want === 'number'
      ? hdus[want]
      : hdus.find((h) => String(h.header.get('EXTNAME') ?? '').trim().toUpperCase() === want.toUpperCase());
  if (!info) throw new InputError(subject, `no HDU ${String(want)} (file has ${hdus.length})`);
  if (info.index > 0 && info.type !== 'IMAGE') {
    throw new InputError(subject, `HDU ${info.index} is a ${info.type} extension, not an image`);
  }
  return decodeImage(buf, info, subject, opts.as, owned);
}

function decodeImage(buf: Uint8Array, info: FitsHduInfo, subject: string, as?: 'float32' | 'float64', owned = false): FitsImage {
  const h = info.header;
  const bitpix = h.getNumber('BITPIX') as number;
  const naxis = h.getNumber('NAXIS') as number;
  const shape: number[] = [];
  for (let i = 1; i <= naxis; i++) shape.push(h.getNumber(`NAXIS${i}`) as number);
  const n = naxis === 0 ? 0 : shape.reduce((a, b) => a * b, 1);
  const bscale = h.getNumber('BSCALE', 1);
  const bzero = h.getNumber('BZERO', 0);
  const blank = bitpix > 0 ? h.getNumber('BLANK') : undefined;
  const kind = as ?? (bitpix === 8 || bitpix === 16 || bitpix === -32 ? 'float32' : 'float64');
  const out = kind === 'float32' ? new Float32Array(n) : new Float64Array(n);
  const nbytes = (Math.abs(bitpix) / 8) * n;
  const scaled = bscale !== 1 || bzero !== 0;
  const width = Math.abs(bitpix) / 8;
  const abs = buf.byteOffset + info.dataOffset;
  if (owned && !scaled && abs % width === 0 && ((bitpix === -32 && kind === 'float32') || (bitpix === -64 && kind === 'float64'))) {
    // Fast path for a buffer we read ourselves: swap in place and return a view (no copy).
    const raw = Buffer.from(buf.buffer, abs, nbytes);
    if (bitpix === -32) raw.swap32();
    else raw.swap64();
    const data = bitpix === -32 ? new Float32Array(buf.buffer, abs, n) : new Float64Array(buf.buffer, abs, n);
    return { header: h, shape, bitpix, data };
  }
  // Copy so that the byte swap never touches the caller's buffer and alignment is guaranteed.
  const raw = Buffer.allocUnsafe(nbytes);
  raw.set(buf.subarray(info.dataOffset, info.dataOffset + nbytes));
  if (bitpix === -32 || bitpix === -64) {
    if (bitpix === -32) raw.swap32();
    else raw.swap64();
    const src = bitpix === -32 ? new Float32Array(raw.buffer, raw.byteOffset, n) : new Float64Array(raw.buffer, raw.byteOffset, n);
    if (!scaled) out.set(src);
    else for (let i = 0; i < n; i++) out[i] = src[i] * bscale + bzero;
    return { header: h, shape, bitpix, data: out };
  }
  if (bitpix === 8) {
    for (let i = 0; i < n; i++) {
      const v = raw[i];
      out[i] = blank !== undefined && v === blank ? NaN : v * bscale + bzero;
    }
  } else if (bitpix === 16) {
    raw.swap16();
    const src = new Int16Array(raw.buffer, raw.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const v = src[i];
      out[i] = blank !== undefined && v === blank ? NaN : v * bscale + bzero;
    }
  } else if (bitpix === 32) {
    raw.swap32();
    const src = new Int32Array(raw.buffer, raw.byteOffset, n);
    for (let i = 0; i < n; i++) {
      const v = src[i];
      out[i] = blank !== undefined && v === blank ? NaN : v * bscale + bzero;
    }
  } else {
    raw.swap64();
    const src = new BigInt64Array(raw.buffer, raw.byteOffset, n);
    const bBlank = blank !== undefined ? BigInt(blank) : undefined;
    for (let i = 0; i < n; i++) {
      const v = src[i];
      // BZERO = 2^63 (unsigned 64-bit) loses precision in doubles; acceptable for images.
      out[i] = bBlank !== undefined && v === bBlank ? NaN : Number(v) * bscale + bzero;
    }
  }
  return { header: h, shape, bitpix, data: out };
}

/**
 * Read an image HDU (primary by default) from a file. For unscaled BITPIX −32/−64 the returned
 * data is a view into the file buffer (byteOffset ≠ 0): no copy of a 64 MiB image.
 */
export async function readFits(file: string, opts: ReadFitsOptions = {}): Promise<FitsImage> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    throw new InputError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e);
  }
  return readImageHdu(buf, file, opts, true);
}

/** Read only the primary header (reads header blocks, never the data). */
export function readFitsHeader(file: string): FitsHeader {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new InputError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e);
  }
  try {
    const size = fstatSync(fd).size;
    const chunks: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const block = Buffer.alloc(FITS_BLOCK);
      const got = readSync(fd, block, 0, FITS_BLOCK, pos);
      if (got < FITS_BLOCK) {
        if (pos === 0) checkIsFits(block.subarray(0, got), file);
        throw new InputError(file, `truncated FITS header (no END card before byte ${size})`);
      }
      if (pos === 0) checkIsFits(block, file);
      chunks.push(block);
      pos += FITS_BLOCK;
      for (let c = 0; c < FITS_BLOCK; c += CARD) {
        const t = block.toString('latin1', c, c + 3);
        if (t === 'END' && block.toString('latin1', c + 3, c + CARD).trim() === '') {
          return parseHeaderAt(Buffer.concat(chunks), 0, file).header;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** The full header (structural cards first) of a BITPIX −32 primary HDU. */
function imageHeaderBlocks(header: FitsHeader, shape: number[]): Buffer {
  const structural = new Set(['SIMPLE', 'BITPIX', 'NAXIS', 'EXTEND', 'END', 'BSCALE', 'BZERO', 'BLANK']);
  for (let i = 1; i <= 9; i++) structural.add(`NAXIS${i}`);
  const h = new FitsHeader([
    { key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' },
    { key: 'BITPIX', value: -32, comment: 'IEEE 32-bit floating point' },
    { key: 'NAXIS', value: shape.length, comment: 'number of data axes' },
    ...shape.map((v, i) => ({ key: `NAXIS${i + 1}`, value: v } as FitsCard)),
    { key: 'EXTEND', value: true },
    ...header.cards.filter((c) => !structural.has(c.key)),
  ]);
  return h.encode();
}

function checkShape(data: Float32Array, shape: number[]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new DsaError(`FITS: data length ${data.length} does not match shape ${shape.join('×')}`);
}

/**
 * Encode a primary-HDU FITS image in memory: BITPIX −32 big-endian, SIMPLE/BITPIX/NAXIS/NAXISn/
 * EXTEND cards first (the header's own copies of these are replaced).
 */
export function encodeFits(header: FitsHeader, data: Float32Array, shape: number[]): Buffer {
  checkShape(data, shape);
  const head = imageHeaderBlocks(header, shape);
  const dataBytes = data.length * 4;
  const padded = Math.ceil(dataBytes / FITS_BLOCK) * FITS_BLOCK;
  const out = Buffer.alloc(head.length + padded); // zero padding after the data, as required
  head.copy(out, 0);
  const body = out.subarray(head.length, head.length + dataBytes);
  body.set(new Uint8Array(data.buffer, data.byteOffset, dataBytes));
  body.swap32(); // little-endian host → big-endian FITS
  return out;
}

/**
 * Bytes per write when streaming image data to disk. Large enough that a 4096² image is four
 * write calls; small enough that the byte-swap scratch stays cache- and page-warm (a fresh 64 MiB
 * buffer costs ~0.2 s of page faults on a small VM, more than the disk write itself).
 */
const WRITE_CHUNK = 16 * 1024 * 1024;
let scratch: Buffer | undefined;

/**
 * Write a float32 image as a FITS primary HDU atomically (temp sibling + fsync + rename).
 * Shape is [NAXIS1, NAXIS2, ...], e.g. [nx, ny, 1, 1] for a radio image.
 */
export async function writeFits(file: string, header: FitsHeader, data: Float32Array, shape: number[]): Promise<void> {
  checkShape(data, shape);
  const head = imageHeaderBlocks(header, shape);
  const dataBytes = data.length * 4;
  const pad = Math.ceil(dataBytes / FITS_BLOCK) * FITS_BLOCK - dataBytes;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, dataBytes);
  await withAtomicFile(file, async (fh) => {
    await writeAll(fh, head);
    if (!scratch) scratch = Buffer.allocUnsafeSlow(WRITE_CHUNK);
    const buf = scratch;
    for (let off = 0; off < dataBytes; off += WRITE_CHUNK) {
      const len = Math.min(WRITE_CHUNK, dataBytes - off);
      buf.set(bytes.subarray(off, off + len));
      buf.subarray(0, len).swap32();
      await writeAll(fh, buf.subarray(0, len));
    }
    if (pad > 0) await writeAll(fh, Buffer.alloc(pad));
  });
}

async function writeAll(fh: fsp.FileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

/**
 * Write a file atomically with the shared conventions of src/util/atomic.ts (temp sibling named
 * `.<name>.tmp-<pid>-<hex>` so housekeep recognises leftovers, fsync, rename, fsync of the
 * directory). `fill` streams into the temp file; on any error the temp is removed and the target
 * is untouched.
 */
async function withAtomicFile(file: string, fill: (fh: fsp.FileHandle) => Promise<void>): Promise<void> {
  const tmp = tempSiblingName(file);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx');
    await fill(fh);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, file);
    await fsyncDir(path.dirname(file));
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    const mapped = ioError(e, 'writing', file);
    if (mapped instanceof DsaError) throw mapped;
    throw new DsaError(`cannot write ${file}: ${(e as Error).message}`, { subject: file, cause: e });
  }
}

/** Restoring beam, degrees. */
export interface BeamDeg {
  bmajDeg: number;
  bminDeg: number;
  bpaDeg: number;
}

export interface ImageHeaderOptions {
  /** Celestial WCS (with spectral axis and Stokes value) of the image. */
  wcs: Wcs;
  /** Brightness unit; default 'JY/BEAM'. */
  bunit?: string;
  beam?: BeamDeg;
  /** Observation start or mid time: MJD (UTC days). DATE-OBS is derived from it. */
  mjdObs?: number;
  telescope?: string;
  origin?: string;
  object?: string;
  /** Provenance: HISTORY cards, in order. */
  history?: string[];
  /** Extra keywords (≤ 8 characters), e.g. { PIPEVER: '0.1.0', MSNAME: '...' }. */
  keywords?: Record<string, string | number | boolean>;
  /** Write time for DATE (default now). */
  date?: Date;
}

/** ISO-8601 UTC without zone suffix, as FITS DATE/DATE-OBS want: 2025-10-02T00:12:00.000. */
export function fitsDate(d: Date): string {
  return d.toISOString().replace(/Z$/, '');
}

/**
 * The header of a 4-axis radio image (RA---SIN, DEC--SIN, FREQ, STOKES with NAXIS3 = NAXIS4 = 1).
 * Structural cards (SIMPLE, BITPIX, NAXISn) are added by encodeFits/writeFits.
 */
export function makeImageHeader(o: ImageHeaderOptions): FitsHeader {
  const h = new FitsHeader();
  h.set('BUNIT', o.bunit ?? 'JY/BEAM', 'brightness unit');
  h.set('BTYPE', 'Intensity');
  if (o.object) h.set('OBJECT', o.object);
  if (o.beam) {
    h.setFloat('BMAJ', o.beam.bmajDeg, '[deg] restoring beam major axis (FWHM)');
    h.setFloat('BMIN', o.beam.bminDeg, '[deg] restoring beam minor axis (FWHM)');
    h.setFloat('BPA', o.beam.bpaDeg, '[deg] restoring beam position angle');
  }
  o.wcs.writeToHeader(h, 4);
  if (o.mjdObs !== undefined) {
    h.set('DATE-OBS', fitsDate(new Date((o.mjdObs - 40587) * 86400000)), 'UTC');
    h.setFloat('MJD-OBS', o.mjdObs, '[d] MJD of observation (UTC)');
    h.set('TIMESYS', 'UTC');
  }
  h.set('TELESCOP', o.telescope ?? 'DSA_110');
  h.set('INSTRUME', o.telescope ?? 'DSA_110');
  h.set('ORIGIN', o.origin ?? 'dsa110-contimg');
  h.set('DATE', fitsDate(o.date ?? new Date()), 'UTC date this file was written');
  for (const [k, v] of Object.entries(o.keywords ?? {})) h.set(k, v);
  for (const line of o.history ?? []) h.addHistory(line);
  return h;
}
