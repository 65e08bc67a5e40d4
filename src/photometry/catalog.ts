/**
 * Source catalogues for forced photometry: flat columns, and a CSV reader that reports
 * bad rows (line number + reason) and skips them instead of failing the whole file.
 */
import { InputError } from '../util/errors.js';

export interface Catalog {
  name: string[];
  raDeg: Float64Array;
  decDeg: Float64Array;
  fluxMjy: Float64Array;
  /** Catalogue SNR; NaN where unknown. */
  snr: Float64Array;
  /** 1 resolved, 0 unresolved, 255 unknown. */
  resolved: Uint8Array;
}

export interface BadRow {
  line: number; // 1-based line number in the file
  reason: string;
}

export interface ParsedCatalog {
  catalog: Catalog;
  badRows: BadRow[];
}

export const RESOLVED_UNKNOWN = 255;

/** Build a Catalog from plain columns (snr/resolved optional). Validates lengths. */
export function makeCatalog(cols: {
  name: string[];
  raDeg: ArrayLike<number>;
  decDeg: ArrayLike<number>;
  fluxMjy: ArrayLike<number>;
  snr?: ArrayLike<number>;
  resolved?: ArrayLike<number | boolean>;
}): Catalog {
  const n = cols.name.length;
  for (const [k, v] of [['raDeg', cols.raDeg], ['decDeg', cols.decDeg], ['fluxMjy', cols.fluxMjy], ['snr', cols.snr], ['resolved', cols.resolved]] as const) {
    if (v !== undefined && v.length !== n) throw new InputError('catalog', `column ${k} has ${v.length} rows, name has ${n}`);
  }
  const snr = new Float64Array(n).fill(NaN);
  const resolved = new Uint8Array(n).fill(RESOLVED_UNKNOWN);
  for (let i = 0; i < n; i++) {
    if (cols.snr) snr[i] = cols.snr[i];
    if (cols.resolved) resolved[i] = cols.resolved[i] ? 1 : 0;
  }
  return {
    name: cols.name.slice(),
    raDeg: Float64Array.from(cols.raDeg),
    decDeg: Float64Array.from(cols.decDeg),
    fluxMjy: Float64Array.from(cols.fluxMjy),
    snr,
    resolved,
  };
}

/** Split one CSV line; supports double-quoted fields with "" escapes. */
function splitCsv(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) return null; // unterminated quote
        const ch = line[i];
        if (ch === '"') {
          if (line[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += ch;
        i++;
      }
      while (i < n && line[i] !== ',') { if (line[i].trim() !== '') return null; i++; }
    } else {
      const j = line.indexOf(',', i);
      const end = j < 0 ? n : j;
      field = line.slice(i, end);
      i = end;
    }
    out.push(field.trim());
    if (i >= n) return out;
    i++; // skip comma
  }
}

function parseBool(s: string): number {
  const v = s.toLowerCase();
  if (v === '' ) return RESOLVED_UNKNOWN;
  if (v === '1' || v === 'true' || v === 't' || v === 'yes' || v === 'y') return 1;
  if (v === '0' || v === 'false' || v === 'f' || v === 'no' || v === 'n') return 0;
  return -1;
}

/**
 * Parse a catalogue CSV with a header naming the columns (any order, case-insensitive):
 * name, ra_deg, dec_deg, flux_mjy (or flux_jy), and optionally snr, resolved.
 * Blank lines and lines starting with '#' are ignored. Rows with a wrong field count,
 * non-numeric or out-of-range values are reported in `badRows` and skipped.
 * Throws InputError(path) if the header lacks a required column.
 */
export function parseCatalogCsv(text: string, path: string): ParsedCatalog {
  const lines = text.split(/\r?\n/);
  const badRows: BadRow[] = [];
  let li = 0;
  while (li < lines.length && (lines[li].trim() === '' || lines[li].trimStart().startsWith('#'))) li++;
  if (li >= lines.length) throw new InputError(path, 'catalogue is empty (no header line)');
  const header = splitCsv(lines[li]);
  if (!header) throw new InputError(path, `line ${li + 1}: unreadable header`);
  const col = new Map<string, number>();
  header.forEach((h, k) => col.set(h.toLowerCase(), k));
  const iName = col.get('name');
  const iRa = col.get('ra_deg');
  const iDec = col.get('dec_deg');
  const iMjy = col.get('flux_mjy');
  const iJy = col.get('flux_jy');
  const iSnr = col.get('snr');
  const iRes = col.get('resolved');
  const missing: string[] = [];
  if (iName === undefined) missing.push('name');
  if (iRa === undefined) missing.push('ra_deg');
  if (iDec === undefined) missing.push('dec_deg');
  if (iMjy === undefined && iJy === undefined) missing.push('flux_mjy');
  if (missing.length) {
    throw new InputError(path, `header line ${li + 1} lacks column(s) ${missing.join(', ')} (have: ${header.join(', ')})`);
  }
  const nCol = header.length;
  const names: string[] = [];
  const ra: number[] = [], dec: number[] = [], flux: number[] = [], snr: number[] = [], res: number[] = [];
  for (li++; li < lines.length; li++) {
    const raw = lines[li];
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const line = li + 1;
    const f = splitCsv(raw);
    if (!f) { badRows.push({ line, reason: 'unterminated quoted field' }); continue; }
    if (f.length !== nCol) { badRows.push({ line, reason: `expected ${nCol} fields, found ${f.length}` }); continue; }
    const name = f[iName!];
    if (name === '') { badRows.push({ line, reason: 'empty name' }); continue; }
    const num = (k: number, what: string): number | string => {
      const s = f[k];
      const v = s === '' ? NaN : Number(s);
      return Number.isFinite(v) ? v : `${what} is not a number: '${s}'`;
    };
    const r = num(iRa!, 'ra_deg');
    if (typeof r === 'string') { badRows.push({ line, reason: r }); continue; }
    const d = num(iDec!, 'dec_deg');
    if (typeof d === 'string') { badRows.push({ line, reason: d }); continue; }
    const fl = iMjy !== undefined ? num(iMjy, 'flux_mjy') : num(iJy!, 'flux_jy');
    if (typeof fl === 'string') { badRows.push({ line, reason: fl }); continue; }
    if (r < 0 || r >= 360) { badRows.push({ line, reason: `ra_deg ${r} outside [0, 360)` }); continue; }
    if (d < -90 || d > 90) { badRows.push({ line, reason: `dec_deg ${d} outside [-90, 90]` }); continue; }
    let s = NaN;
    if (iSnr !== undefined && f[iSnr] !== '') {
      const sv = num(iSnr, 'snr');
      if (typeof sv === 'string') { badRows.push({ line, reason: sv }); continue; }
      s = sv;
    }
    let rv = RESOLVED_UNKNOWN;
    if (iRes !== undefined) {
      rv = parseBool(f[iRes]);
      if (rv < 0) { badRows.push({ line, reason: `resolved is not a boolean: '${f[iRes]}'` }); continue; }
    }
    names.push(name);
    ra.push(r);
    dec.push(d);
    flux.push(iMjy !== undefined ? fl : fl * 1000);
    snr.push(s);
    res.push(rv);
  }
  const n = names.length;
  const resolved = new Uint8Array(n);
  for (let i = 0; i < n; i++) resolved[i] = res[i];
  return {
    catalog: {
      name: names,
      raDeg: Float64Array.from(ra),
      decDeg: Float64Array.from(dec),
      fluxMjy: Float64Array.from(flux),
      snr: Float64Array.from(snr),
      resolved,
    },
    badRows,
  };
}
