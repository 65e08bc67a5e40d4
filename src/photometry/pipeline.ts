/**
 * Glue between files and the photometry library: catalogue files (CSV or SQLite), an image
 * with its primary beam ready for forced photometry, and grouping images into fields.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { InputError } from '../util/errors.js';
import { readFits, type FitsHeader } from '../io/fits.js';
import { Wcs } from '../astro/wcs.js';
import { pixelBeam, pixelBeamFromJacobian, type PixelBeam } from './beam.js';
import { parseCatalogCsv, RESOLVED_UNKNOWN, type BadRow, type ParsedCatalog } from './catalog.js';
import { clippedMadStats } from './stats.js';
import type { SkyToPixel } from './measure.js';

const SQLITE_MAGIC = 'SQLite format 3\0';

function fileMagic(file: string, n: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new InputError(file, `cannot read catalogue: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.toString('latin1', 0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * Read a catalogue: CSV (see parseCatalogCsv), or an SQLite database (detected by its magic)
 * holding a table `sources` or `catalog` with columns name, ra_deg, dec_deg, flux_mjy (or
 * flux_jy) and optionally snr, resolved. Bad rows are reported (row number) and skipped.
 */
export function readCatalogFile(file: string): ParsedCatalog & { format: 'csv' | 'sqlite' } {
  if (fileMagic(file, 16) === SQLITE_MAGIC) return { ...readCatalogSqlite(file), format: 'sqlite' };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(file, `cannot read catalogue: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { ...parseCatalogCsv(text, file), format: 'csv' };
}

function readCatalogSqlite(file: string): ParsedCatalog {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new InputError(file, `cannot open SQLite catalogue: ${(e as Error).message}`);
  }
  try {
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type IN ('table','view')`).all() as { name: string }[]).map((r) => r.name);
    const table = ['sources', 'catalog'].find((t) => tables.some((x) => x.toLowerCase() === t));
    if (!table) throw new InputError(file, `SQLite catalogue has no table 'sources' or 'catalog' (tables: ${tables.join(', ') || 'none'})`);
    const cols = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name.toLowerCase());
    const has = (c: string): boolean => cols.includes(c);
    const missing = ['name', 'ra_deg', 'dec_deg'].filter((c) => !has(c));
    if (!has('flux_mjy') && !has('flux_jy')) missing.push('flux_mjy');
    if (missing.length) throw new InputError(file, `table ${table} lacks column(s) ${missing.join(', ')} (have: ${cols.join(', ')})`);
    const fluxExpr = has('flux_mjy') ? 'flux_mjy' : 'flux_jy * 1000.0';
    const sql = `SELECT rowid AS rid, name, ra_deg, dec_deg, ${fluxExpr} AS flux_mjy, ${has('snr') ? 'snr' : 'NULL'} AS snr, ${has('resolved') ? 'resolved' : 'NULL'} AS resolved FROM ${table} ORDER BY rowid`;
    const names: string[] = [];
    const ra: number[] = [], dec: number[] = [], flux: number[] = [], snr: number[] = [], res: number[] = [];
    const badRows: BadRow[] = [];
    type Row = { rid: number; name: unknown; ra_deg: unknown; dec_deg: unknown; flux_mjy: unknown; snr: unknown; resolved: unknown };
    for (const r of db.prepare(sql).iterate() as IterableIterator<Row>) {
      const line = r.rid;
      if (r.name === null || String(r.name).trim() === '') { badRows.push({ line, reason: 'empty name' }); continue; }
      const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);
      const a = num(r.ra_deg), d = num(r.dec_deg), f = num(r.flux_mjy);
      if (!Number.isFinite(a)) { badRows.push({ line, reason: `ra_deg is not a number: '${String(r.ra_deg)}'` }); continue; }
      if (!Number.isFinite(d)) { badRows.push({ line, reason: `dec_deg is not a number: '${String(r.dec_deg)}'` }); continue; }
      if (!Number.isFinite(f)) { badRows.push({ line, reason: `flux is not a number: '${String(r.flux_mjy)}'` }); continue; }
      if (a < 0 || a >= 360) { badRows.push({ line, reason: `ra_deg ${a} outside [0, 360)` }); continue; }
      if (d < -90 || d > 90) { badRows.push({ line, reason: `dec_deg ${d} outside [-90, 90]` }); continue; }
      const s = r.snr === null ? NaN : num(r.snr);
      let rv = RESOLVED_UNKNOWN;
      if (r.resolved !== null) {
        const t = String(r.resolved).trim().toLowerCase();
        if (['1', 'true', 't', 'yes', 'y'].includes(t)) rv = 1;
        else if (['0', 'false', 'f', 'no', 'n'].includes(t)) rv = 0;
        else if (t !== '') { badRows.push({ line, reason: `resolved is not a boolean: '${t}'` }); continue; }
      }
      names.push(String(r.name).trim()); ra.push(a); dec.push(d); flux.push(f); snr.push(s); res.push(rv);
    }
    return {
      catalog: {
        name: names, raDeg: Float64Array.from(ra), decDeg: Float64Array.from(dec), fluxMjy: Float64Array.from(flux),
        snr: Float64Array.from(snr), resolved: Uint8Array.from(res),
      },
      badRows,
    };
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(file, `cannot read SQLite catalogue: ${(e as Error).message}`);
  } finally {
    db.close();
  }
}

/**
 * The primary-beam image written beside an image by our imager: `<name>-image.fits` →
 * `<name>-pb.fits`. Other names: `<stem>.fits` → `<stem>-pb.fits`.
 */
export function pbSiblingPath(imagePath: string): string {
  const dir = path.dirname(imagePath), base = path.basename(imagePath);
  const m = /^(.*)-image\.fits$/i.exec(base);
  if (m) return path.join(dir, `${m[1]}-pb.fits`);
  return path.join(dir, base.replace(/\.fits?$/i, '') + '-pb.fits');
}

/** MJD (UTC days) of a header: MJD-OBS, else DATE-OBS (ISO, UTC); undefined if neither. */
export function headerMjd(h: FitsHeader): number | undefined {
  const m = h.getNumber('MJD-OBS');
  if (m !== undefined && Number.isFinite(m)) return m;
  const d = h.getString('DATE-OBS');
  if (d) {
    const s = d.trim();
    const iso = /^\d{4}-\d\d-\d\d$/.test(s) ? s + 'T00:00:00Z' : /[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + 'Z';
    const ms = Date.parse(iso);
    if (Number.isFinite(ms)) return ms / 86400000 + 40587;
  }
  return undefined;
}

export interface PhotometryImage {
  path: string;
  data: Float32Array;
  nx: number;
  ny: number;
  header: FitsHeader;
  wcs: Wcs;
  /** Adapter for the library: degrees in, 0-based pixel out. */
  sky: SkyToPixel;
  beam: PixelBeam;
  /**
   * The beam at a pixel, from the projection's local Jacobian, on images where it varies
   * (plate-carrée mosaics); undefined on SIN images, whose restoring beam is convolved on the pixel
   * grid and so the same in pixels everywhere.
   */
  beamAt?: (x: number, y: number) => PixelBeam;
  bmajDeg: number;
  bminDeg: number;
  bpaDeg: number;
  mjd: number;
  /** Reference (pointing/phase) centre, CRVAL, degrees. */
  raDeg: number;
  decDeg: number;
  /** Image noise: header NOISE/RMS keyword if present, else robust (clipped MAD) over the image. */
  noiseJy: number;
  pbPath?: string;
  pb?: Float32Array;
}

function firstPlane(data: Float32Array | Float64Array, n: number): Float32Array {
  if (data instanceof Float32Array) return data.length === n ? data : data.subarray(0, n);
  return Float32Array.from(data.subarray(0, n));
}

/** Robust σ (clipped 1.4826·MAD) from a regular sub-sample of at most ~200k finite pixels. */
export function robustImageNoise(data: Float32Array): number {
  const step = Math.max(1, Math.floor(data.length / 200000));
  const buf = new Float64Array(Math.ceil(data.length / step));
  let m = 0;
  for (let k = 0; k < data.length; k += step) { const v = data[k]; if (v === v) buf[m++] = v; }
  if (m < 3) return NaN;
  const out = new Float64Array(3);
  clippedMadStats(buf, m, new Float64Array(m), out);
  return out[1];
}

/** [∂e/∂x, ∂e/∂y, ∂n/∂x, ∂n/∂y] (radians of east and north per pixel) at pixel (x, y), by central differences. */
export function skyJacobian(wcs: Wcs, x: number, y: number): [number, number, number, number] {
  const at = (px: number, py: number) => wcs.pixelToWorld(px, py);
  const c = at(x, y), xp = at(x + 0.5, y), xm = at(x - 0.5, y), yp = at(x, y + 0.5), ym = at(x, y - 0.5);
  const dLon = (a: number, b: number): number => { let d = (a - b) % (2 * Math.PI); if (d > Math.PI) d -= 2 * Math.PI; if (d < -Math.PI) d += 2 * Math.PI; return d; };
  const cd = Math.cos(c.lat);
  return [dLon(xp.lon, xm.lon) * cd, dLon(yp.lon, ym.lon) * cd, xp.lat - xm.lat, yp.lat - ym.lat];
}

/**
 * Read an image (first plane) and, unless `usePb` is false, its `-pb.fits` sibling; check what
 * forced photometry needs (restoring beam, time, celestial WCS, matching pb grid).
 */
export async function loadPhotometryImage(file: string, opts: { usePb: boolean }): Promise<PhotometryImage> {
  if (/-image-pb\.fits$/i.test(file)) {
    throw new InputError(file, 'this is the primary-beam-corrected image (noise not flat); measure the -image.fits beside it');
  }
  const img = await readFits(file, { as: 'float32' });
  const h = img.header;
  if (img.shape.length < 2) throw new InputError(file, `not an image (NAXIS = ${img.shape.length})`);
  const [nx, ny] = img.shape;
  const bmaj = h.getNumber('BMAJ'), bmin = h.getNumber('BMIN');
  if (!(bmaj !== undefined && bmaj > 0 && bmin !== undefined && bmin > 0)) {
    throw new InputError(file, 'no restoring beam in the header (BMAJ/BMIN missing or not positive): cannot do forced photometry');
  }
  const bpa = h.getNumber('BPA', 0);
  const mjd = headerMjd(h);
  if (mjd === undefined) throw new InputError(file, 'no observation time in the header (MJD-OBS or DATE-OBS)');
  const wcs = Wcs.fromHeader(h, file);
  const [cx, cy] = wcs.cellDeg;
  // East is −x when the RA axis increment is negative (standard radio images).
  const p = wcs.params;
  const eastSign: 1 | -1 = (p.lonFirst ? p.cdelt[0] * p.pc[0] : p.cdelt[1] * p.pc[2]) < 0 ? -1 : 1;
  const d2r = Math.PI / 180;
  const beam = pixelBeam(bmaj * d2r, bmin * d2r, bpa, { pixelScaleRad: [cx * d2r, cy * d2r], eastSign });
  const data = firstPlane(img.data as Float32Array, nx * ny);
  const [ra0, dec0] = wcs.refLonLat;
  const hn = h.getNumber('NOISE') ?? h.getNumber('RMS');
  const out: PhotometryImage = {
    path: file, data, nx, ny, header: h, wcs,
    sky: { worldToPixel: (ra: number, dec: number) => wcs.worldToPixelDeg(ra, dec) },
    beam, bmajDeg: bmaj, bminDeg: bmin, bpaDeg: bpa, mjd,
    beamAt: wcs.projection === 'SIN' ? undefined : (x: number, y: number) => pixelBeamFromJacobian(bmaj * d2r, bmin * d2r, bpa, skyJacobian(wcs, x, y)),
    raDeg: ra0 / d2r, decDeg: dec0 / d2r,
    noiseJy: hn !== undefined && hn > 0 ? hn : robustImageNoise(data),
  };
  if (opts.usePb) {
    const pbPath = pbSiblingPath(file);
    if (!existsSync(pbPath)) throw new InputError(file, `primary-beam image ${pbPath} not found (use --no-pb to measure without a primary-beam correction)`);
    const pb = await readFits(pbPath, { as: 'float32' });
    if (pb.shape[0] !== nx || pb.shape[1] !== ny) {
      throw new InputError(pbPath, `primary-beam image is ${pb.shape[0]}×${pb.shape[1]}, image ${file} is ${nx}×${ny}`);
    }
    out.pbPath = pbPath;
    out.pb = firstPlane(pb.data as Float32Array, nx * ny);
  }
  return out;
}

/**
 * Group pointings into fields: an image joins the first field whose seed centre lies within
 * `radiusDeg` in both dec and RA·cos(dec) (images ordered by dec then RA). Returns the field of
 * each image and each field's centre (mean of its members' unit vectors).
 */
export function groupFields(raDeg: ArrayLike<number>, decDeg: ArrayLike<number>, radiusDeg: number): {
  field: Int32Array; centreRa: number[]; centreDec: number[];
} {
  const n = raDeg.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => decDeg[a] - decDeg[b] || raDeg[a] - raDeg[b] || a - b);
  const field = new Int32Array(n).fill(-1);
  const seedRa: number[] = [], seedDec: number[] = [];
  const d2r = Math.PI / 180;
  for (const i of order) {
    let f = -1;
    for (let k = 0; k < seedRa.length; k++) {
      if (Math.abs(decDeg[i] - seedDec[k]) > radiusDeg) continue;
      let dra = Math.abs(raDeg[i] - seedRa[k]) % 360;
      if (dra > 180) dra = 360 - dra;
      if (dra * Math.cos(((decDeg[i] + seedDec[k]) / 2) * d2r) > radiusDeg) continue;
      f = k;
      break;
    }
    if (f < 0) { f = seedRa.length; seedRa.push(raDeg[i]); seedDec.push(decDeg[i]); }
    field[i] = f;
  }
  const nf = seedRa.length;
  const sx = new Float64Array(nf), sy = new Float64Array(nf), sz = new Float64Array(nf);
  for (let i = 0; i < n; i++) {
    const a = raDeg[i] * d2r, d = decDeg[i] * d2r, f = field[i];
    sx[f] += Math.cos(d) * Math.cos(a); sy[f] += Math.cos(d) * Math.sin(a); sz[f] += Math.sin(d);
  }
  const centreRa: number[] = [], centreDec: number[] = [];
  for (let f = 0; f < nf; f++) {
    const ra = Math.atan2(sy[f], sx[f]) / d2r;
    centreRa.push(((ra % 360) + 360) % 360);
    centreDec.push(Math.atan2(sz[f], Math.hypot(sx[f], sy[f])) / d2r);
  }
  return { field, centreRa, centreDec };
}
