/**
 * Calibrator catalogues: the NRAO VLA calibrator list (fixed-width text, per-band flux rows that
 * are not always aligned) and simple CSV (name, ra_deg, dec_deg, flux_jy[, spectral_index]).
 *
 * Stored as parallel arrays (one slot per source) plus per-band rows in CSR form
 * (bandStart[i] .. bandStart[i+1]).  Positions are ICRS radians (the list's J2000 positions).
 * Every name a source is known by (J2000 IAU name, B1950 name, alternate name such as 3C286,
 * "J" + HHMM±DDMM) maps to its index through a normalised alias table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { packageDataPath } from '../astro/data-path.js';
import { InputError } from '../util/errors.js';

export interface CalibratorCatalog {
  /** File the catalogue was read from. */
  path: string;
  count: number;
  /** Primary name: the J2000 IAU name of the VLA list (e.g. "1331+305"), or the CSV name. */
  name: string[];
  /** B1950 IAU name ('' if none). */
  b1950: string[];
  /** Alternate name (e.g. "3C286"; '' if none). */
  altName: string[];
  /** Position reference (epoch code like "Aug01" and/or survey like "JVAS"; '' if none). */
  posRef: string[];
  /** VLA position accuracy code A (< 2 mas), B (2–10 mas), C (10–150 mas), T (> 150 mas); '' for CSV. */
  posCode: string[];
  raRad: Float64Array;
  decRad: Float64Array;
  /** 20 cm (L band) flux, Jy (NaN if not listed). */
  flux20cmJy: Float64Array;
  /** Spectral index S ∝ ν^α (from 20 cm and 6 cm fluxes, or the CSV column; NaN if unknown). */
  spectralIndex: Float64Array;
  /** Per-band rows: CSR offsets (length count+1) and row arrays. */
  bandStart: Int32Array;
  bandName: string[];
  /** Wavelength of the band, cm (from its name, e.g. 20, 6, 3.7, 0.7). */
  bandWavelengthCm: Float64Array;
  /** VLA receiver letter (P, L, C, X, U, K, Q). */
  bandCode: string[];
  /** Quality codes for A, B, C, D configurations, 4 characters, '-' where missing. */
  bandQuality: string[];
  bandFluxJy: Float64Array;
  /** uv limits, kilo-wavelengths (NaN if none). */
  bandUvminKl: Float64Array;
  bandUvmaxKl: Float64Array;
  /** Normalised alias → index. */
  index: Map<string, number>;
  /** Problems found while parsing (line numbers), rows skipped. */
  warnings: string[];
}

/** One source as a plain object (for reports and commands). */
export interface Calibrator {
  index: number;
  name: string;
  b1950: string;
  altName: string;
  raRad: number;
  decRad: number;
  posCode: string;
  flux20cmJy: number;
  spectralIndex: number;
  bands: { band: string; code: string; quality: string; fluxJy: number; uvminKl: number; uvmaxKl: number }[];
}

/** Position-reference survey codes that appear in the ALT.NAME column but are not names. */
const SURVEY_CODES = new Set(['JVAS', 'CJ1', 'CJ2', 'VERA', 'GVAR', 'USNO', 'VSOP', 'VLBA', 'VCS1', 'VCS2']);

/** Normalise a name for lookup: upper case, no spaces/underscores. */
export function normaliseName(name: string): string {
  return name.toUpperCase().replace(/[\s_]+/g, '');
}

/** "J" + HHMM + ±DDMM (truncated) from a position: the usual short J2000 designation. */
export function jName(raRad: number, decRad: number): string {
  let raH = ((raRad * 12) / Math.PI) % 24;
  if (raH < 0) raH += 24;
  const hh = Math.floor(raH);
  const mm = Math.floor((raH - hh) * 60 + 1e-9);
  const decD = (Math.abs(decRad) * 180) / Math.PI;
  const dd = Math.floor(decD);
  const dm = Math.floor((decD - dd) * 60 + 1e-9);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `J${p2(hh)}${p2(mm)}${decRad < 0 ? '-' : '+'}${p2(dd)}${p2(dm)}`;
}

function emptyCatalog(path: string): CalibratorCatalog {
  return {
    path, count: 0, name: [], b1950: [], altName: [], posRef: [], posCode: [],
    raRad: new Float64Array(0), decRad: new Float64Array(0), flux20cmJy: new Float64Array(0), spectralIndex: new Float64Array(0),
    bandStart: new Int32Array(1), bandName: [], bandWavelengthCm: new Float64Array(0), bandCode: [], bandQuality: [],
    bandFluxJy: new Float64Array(0), bandUvminKl: new Float64Array(0), bandUvmaxKl: new Float64Array(0),
    index: new Map(), warnings: [],
  };
}

/** Parse "13h31m08.287984s" → radians. */
export function parseRaHms(text: string): number {
  const m = /^(\d{1,2})h(\d{1,2})m(\d{1,2}(?:\.\d*)?)s$/.exec(text.trim());
  if (!m) return NaN;
  const h = Number(m[1]), mi = Number(m[2]), s = Number(m[3]);
  if (h >= 24 || mi >= 60 || s >= 60) return NaN;
  return ((h + mi / 60 + s / 3600) * Math.PI) / 12;
}

/** Parse "30d30'32.958850\"" or "-06d23'35.3353\"" → radians. */
export function parseDecDms(text: string): number {
  const m = /^([+-]?)(\d{1,2})d(\d{1,2})'(\d{1,2}(?:\.\d*)?)"?$/.exec(text.trim());
  if (!m) return NaN;
  const d = Number(m[2]), mi = Number(m[3]), s = Number(m[4]);
  if (d > 90 || mi >= 60 || s >= 60) return NaN;
  const v = ((d + mi / 60 + s / 3600) * Math.PI) / 180;
  return m[1] === '-' ? -v : v;
}

const HEADER_RE = /^\s*(\S+)\s+(J2000|B1950)\s+(\S)\s+(\d+h\d+m[\d.]+s)\s+([+-]?\s*\d+d\d+'[\d.]+"?)(.*)$/;
const BAND_RE = /^\s*(\d+(?:\.\d+)?)cm\s+([A-Za-z])\b(.*)$/;
/** Columns of the band table header: numbers after the flux starting before this are UVMIN. */
const UVMAX_COLUMN = 45;

interface Builder {
  name: string[]; b1950: string[]; altName: string[]; posRef: string[]; posCode: string[];
  ra: number[]; dec: number[]; alpha: number[];
  bandStart: number[]; bandName: string[]; bandWl: number[]; bandCode: string[]; bandQuality: string[];
  bandFlux: number[]; bandUvmin: number[]; bandUvmax: number[];
}

function newBuilder(): Builder {
  return {
    name: [], b1950: [], altName: [], posRef: [], posCode: [], ra: [], dec: [], alpha: [],
    bandStart: [0], bandName: [], bandWl: [], bandCode: [], bandQuality: [], bandFlux: [], bandUvmin: [], bandUvmax: [],
  };
}

function finish(b: Builder, path: string, warnings: string[]): CalibratorCatalog {
  const n = b.name.length;
  const cat = emptyCatalog(path);
  cat.count = n;
  cat.name = b.name; cat.b1950 = b.b1950; cat.altName = b.altName; cat.posRef = b.posRef; cat.posCode = b.posCode;
  cat.raRad = Float64Array.from(b.ra);
  cat.decRad = Float64Array.from(b.dec);
  cat.bandStart = Int32Array.from(b.bandStart);
  cat.bandName = b.bandName; cat.bandWavelengthCm = Float64Array.from(b.bandWl); cat.bandCode = b.bandCode;
  cat.bandQuality = b.bandQuality; cat.bandFluxJy = Float64Array.from(b.bandFlux);
  cat.bandUvminKl = Float64Array.from(b.bandUvmin); cat.bandUvmaxKl = Float64Array.from(b.bandUvmax);
  cat.flux20cmJy = new Float64Array(n).fill(NaN);
  cat.spectralIndex = Float64Array.from(b.alpha);
  for (let i = 0; i < n; i++) {
    let s20 = NaN, s6 = NaN;
    for (let r = cat.bandStart[i]; r < cat.bandStart[i + 1]; r++) {
      if (cat.bandWavelengthCm[r] === 20 && Number.isNaN(s20)) s20 = cat.bandFluxJy[r];
      if (cat.bandWavelengthCm[r] === 6 && Number.isNaN(s6)) s6 = cat.bandFluxJy[r];
    }
    if (cat.bandStart[i + 1] > cat.bandStart[i]) cat.flux20cmJy[i] = s20;
    if (Number.isNaN(cat.spectralIndex[i]) && s20 > 0 && s6 > 0) {
      // VLA list reference frequencies: 20 cm ≈ 1.4 GHz, 6 cm ≈ 4.86 GHz.
      cat.spectralIndex[i] = Math.log(s6 / s20) / Math.log(4.86 / 1.4);
    }
  }
  // Aliases in priority order, so a J2000 name never gets shadowed by another source's B1950 name.
  const add = (alias: string, i: number) => {
    if (!alias) return;
    const k = normaliseName(alias);
    if (!cat.index.has(k)) cat.index.set(k, i);
  };
  for (let i = 0; i < n; i++) add(cat.name[i], i);
  for (let i = 0; i < n; i++) add(cat.altName[i], i);
  for (let i = 0; i < n; i++) {
    if (/^\d{4}[+-]\d{3}$/.test(cat.name[i])) add('J' + cat.name[i], i);
    add(jName(cat.raRad[i], cat.decRad[i]), i);
  }
  for (let i = 0; i < n; i++) {
    add(cat.b1950[i], i);
    if (cat.b1950[i]) add('B' + cat.b1950[i], i);
  }
  cat.warnings = warnings;
  return cat;
}

/** Parse the NRAO VLA calibrator list text. */
export function parseVlaCalibratorList(text: string, path = '<text>'): CalibratorCatalog {
  const b = newBuilder();
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  let current = -1; // index of the source being filled
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln];
    const trimmed = line.trim();
    if (!trimmed || /^[=-]+$/.test(trimmed) || trimmed.startsWith('BAND') || trimmed.startsWith('IAU NAME')) continue;
    const h = HEADER_RE.exec(line);
    if (h) {
      const [, nm, equinox, pc, raText, decText, rest] = h;
      if (equinox === 'J2000') {
        const ra = parseRaHms(raText);
        const dec = parseDecDms(decText.replace(/\s+/g, ''));
        if (!Number.isFinite(ra) || !Number.isFinite(dec)) {
          warnings.push(`${path}:${ln + 1}: bad position "${raText} ${decText}", source skipped`);
          current = -1;
          continue;
        }
        const toks = rest.trim().split(/\s+/).filter(Boolean);
        const refs: string[] = [];
        let alt = '';
        for (const t of toks) {
          if (/^[A-Z][a-z]{2}\d{2}$/.test(t) || SURVEY_CODES.has(t.toUpperCase())) refs.push(t);
          else if (!alt) alt = t;
          else refs.push(t);
        }
        // Close the previous source's band rows.
        b.name.push(nm); b.b1950.push(''); b.altName.push(alt); b.posRef.push(refs.join(' '));
        b.posCode.push(pc); b.ra.push(ra); b.dec.push(dec); b.alpha.push(NaN);
        current = b.name.length - 1;
        b.bandStart.push(b.bandName.length);
      } else if (current >= 0) {
        b.b1950[current] = nm;
      }
      continue;
    }
    const m = BAND_RE.exec(line);
    if (m) {
      if (current < 0) {
        warnings.push(`${path}:${ln + 1}: flux row outside a source entry, skipped`);
        continue;
      }
      const wl = Number(m[1]);
      const code = m[2].toUpperCase();
      // Tokens after the receiver letter, with their columns.
      const restStart = line.length - m[3].length;
      const toks: { col: number; text: string }[] = [];
      const re = /\S+/g;
      let mm: RegExpExecArray | null;
      while ((mm = re.exec(m[3])) !== null) toks.push({ col: restStart + mm.index, text: mm[0] });
      let q = '';
      let k = 0;
      while (k < toks.length && q.length < 4 && /^[A-Za-z?]$/.test(toks[k].text)) { q += toks[k].text.toUpperCase(); k++; }
      let flux = NaN;
      if (k < toks.length && /^(\d+\.?\d*|\.\d+|\?)$/.test(toks[k].text)) {
        flux = toks[k].text === '?' ? NaN : Number(toks[k].text);
        k++;
      }
      let uvmin = NaN, uvmax = NaN;
      for (; k < toks.length; k++) {
        const t = toks[k];
        if (!/^\d+\.?\d*$/.test(t.text)) continue; // 'visplot' and similar notes
        if (t.col < UVMAX_COLUMN) uvmin = Number(t.text);
        else uvmax = Number(t.text);
      }
      b.bandName.push(`${m[1]}cm`); b.bandWl.push(wl); b.bandCode.push(code); b.bandQuality.push(q.padEnd(4, '-'));
      b.bandFlux.push(flux); b.bandUvmin.push(uvmin); b.bandUvmax.push(uvmax);
      b.bandStart[current + 1] = b.bandName.length;
      continue;
    }
    warnings.push(`${path}:${ln + 1}: unrecognised line "${trimmed.slice(0, 40)}", skipped`);
  }
  if (b.name.length === 0) throw new InputError(path, 'no calibrator entries found (not an NRAO VLA calibrator list?)');
  return finish(b, path, warnings);
}

/** Split one CSV line (double quotes allowed). */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { out.push(cur.trim()); cur = ''; } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/**
 * Parse a CSV calibrator list: columns name, ra_deg, dec_deg, flux_jy[, spectral_index]
 * (a header row naming them in any order is optional). The flux is taken as the 20 cm
 * (1.4 GHz) flux. Bad rows are skipped and reported in `warnings` with their line numbers.
 */
export function parseCalibratorCsv(text: string, path = '<csv>'): CalibratorCatalog {
  const b = newBuilder();
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  let col = { name: 0, ra: 1, dec: 2, flux: 3, alpha: 4 };
  let first = true;
  for (let ln = 0; ln < lines.length; ln++) {
    const raw = lines[ln].trim();
    if (!raw || raw.startsWith('#')) continue;
    const f = splitCsv(raw);
    if (first) {
      first = false;
      if (f.length > 1 && !Number.isFinite(Number(f[1]))) {
        const h = f.map((x) => x.toLowerCase());
        const find = (...names: string[]) => h.findIndex((x) => names.includes(x));
        col = {
          name: find('name', 'source', 'id'),
          ra: find('ra_deg', 'ra', 'raj2000'),
          dec: find('dec_deg', 'dec', 'dej2000', 'decj2000'),
          flux: find('flux_jy', 'flux', 's1.4', 'flux_20cm'),
          alpha: find('spectral_index', 'alpha', 'si'),
        };
        if (col.name < 0 || col.ra < 0 || col.dec < 0 || col.flux < 0) {
          throw new InputError(path, `CSV header must name columns name, ra_deg, dec_deg, flux_jy (got "${raw}")`);
        }
        continue;
      }
    }
    const name = f[col.name] ?? '';
    const ra = Number(f[col.ra]);
    const dec = Number(f[col.dec]);
    const flux = Number(f[col.flux]);
    const alphaText = col.alpha >= 0 ? f[col.alpha] : undefined;
    const alpha = alphaText === undefined || alphaText === '' ? NaN : Number(alphaText);
    let problem = '';
    if (!name) problem = 'empty name';
    else if (f[col.ra] === '' || !Number.isFinite(ra) || ra < 0 || ra >= 360) problem = `bad ra_deg "${f[col.ra] ?? ''}"`;
    else if (f[col.dec] === '' || !Number.isFinite(dec) || dec < -90 || dec > 90) problem = `bad dec_deg "${f[col.dec] ?? ''}"`;
    else if (f[col.flux] === '' || !Number.isFinite(flux) || flux < 0) problem = `bad flux_jy "${f[col.flux] ?? ''}"`;
    else if (alphaText !== undefined && alphaText !== '' && !Number.isFinite(alpha)) problem = `bad spectral_index "${alphaText}"`;
    if (problem) {
      warnings.push(`${path}:${ln + 1}: ${problem}, row skipped`);
      continue;
    }
    b.name.push(name); b.b1950.push(''); b.altName.push(''); b.posRef.push(''); b.posCode.push('');
    b.ra.push((ra * Math.PI) / 180); b.dec.push((dec * Math.PI) / 180); b.alpha.push(alpha);
    b.bandName.push('20cm'); b.bandWl.push(20); b.bandCode.push('L'); b.bandQuality.push('----');
    b.bandFlux.push(flux); b.bandUvmin.push(NaN); b.bandUvmax.push(NaN);
    b.bandStart.push(b.bandName.length);
  }
  if (b.name.length === 0) throw new InputError(path, `no valid calibrator rows${warnings.length ? ` (${warnings[0]})` : ''}`);
  return finish(b, path, warnings);
}

/** Default catalogue path: $DSA110_CALIBRATORS, else the package's data/vlacalibrators.txt. */
export function defaultCatalogPath(): string {
  return process.env.DSA110_CALIBRATORS || packageDataPath('vlacalibrators.txt');
}

/** Load a calibrator catalogue (.csv → CSV, anything else → VLA list text). */
export function loadCalibratorCatalog(path: string = defaultCatalogPath()): CalibratorCatalog {
  if (!existsSync(path)) throw new InputError(path, 'calibrator catalogue not found');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(path, `cannot read calibrator catalogue: ${(e as Error).message}`, e);
  }
  return /\.csv$/i.test(path) ? parseCalibratorCsv(text, path) : parseVlaCalibratorList(text, path);
}

/** Index of a calibrator by any of its names (case/space-insensitive), or -1. */
export function calibratorIndex(cat: CalibratorCatalog, name: string): number {
  const k = normaliseName(name);
  const i = cat.index.get(k);
  if (i !== undefined) return i;
  // "B1328+307" / "J1331+305" written with a prefix the table lacks.
  if (/^[JB]\d/.test(k)) return cat.index.get(k.slice(1)) ?? -1;
  return -1;
}

export function getCalibrator(cat: CalibratorCatalog, i: number): Calibrator {
  const bands: Calibrator['bands'] = [];
  for (let r = cat.bandStart[i]; r < cat.bandStart[i + 1]; r++) {
    bands.push({
      band: cat.bandName[r], code: cat.bandCode[r], quality: cat.bandQuality[r], fluxJy: cat.bandFluxJy[r],
      uvminKl: cat.bandUvminKl[r], uvmaxKl: cat.bandUvmaxKl[r],
    });
  }
  return {
    index: i, name: cat.name[i], b1950: cat.b1950[i], altName: cat.altName[i], raRad: cat.raRad[i], decRad: cat.decRad[i],
    posCode: cat.posCode[i], flux20cmJy: cat.flux20cmJy[i], spectralIndex: cat.spectralIndex[i], bands,
  };
}

/** Find a calibrator by any alias ("3C286" = "3C 286" = "J1331+3030" = "1331+305"). */
export function findCalibrator(cat: CalibratorCatalog, name: string): Calibrator | undefined {
  const i = calibratorIndex(cat, name);
  return i >= 0 ? getCalibrator(cat, i) : undefined;
}
