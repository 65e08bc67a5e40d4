/**
 * Building a mosaic from FITS files: inspect the inputs (headers only), plan the output grid,
 * accumulate Σ wAI and Σ wA² one input at a time (bounded memory), and write the products
 * (mosaic, noise map, weight map, PNG preview) so that either all of them appear or none does.
 *
 * The registry is not touched here: the command records the outcome after the files are in place.
 */
import { existsSync, statSync } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Wcs, galacticToIcrs } from '../astro/wcs.js';
import { airyFwhm } from '../astro/beam.js';
import { readFits, readFitsHeader, writeFits, makeImageHeader, type BeamDeg, type FitsHeader } from '../io/fits.js';
import { imageToPngThumbnail } from '../util/png.js';
import { tempSiblingName, writeFileAtomic, fsyncDir } from '../util/atomic.js';
import { DsaError, InputError } from '../util/errors.js';
import { log } from '../util/log.js';
import { planMosaicGrid, type MosaicGrid } from './grid.js';
import { buildLinearMosaic, estimateNoise, estimateNoiseInBeam, localNoiseMap, type MosaicInput, type PbModel } from './linear.js';
import type { Interp } from './reproject.js';

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;

/** Default DSA-110 band centre, used for the --no-pb Airy model when a header has no frequency. */
const DEFAULT_FREQ_HZ = 1.405e9;

export interface BuildInput {
  /** Flat-noise (not primary-beam-corrected) image. */
  imagePath: string;
  /** Primary-beam image on the same grid; null/undefined → `<stem>-pb.fits` beside `<stem>-image.fits`. */
  pbPath?: string | null;
  /** Image noise σ (Jy/beam) from the registry, if known: used when σ cannot be measured in the primary beam's main lobe (no pb image). */
  noiseJy?: number | null;
  /** Registry id of the image, if registered. */
  imageId?: number;
}

export interface BuildOptions {
  /** Mosaic FITS path; the other products are `<stem>-noise.fits`, `<stem>-weight.fits`, `<stem>.png`. */
  output: string;
  name: string;
  interp?: Interp;
  /** Blank where Σ wA² < minPb × max Σ wA² (default 0.2). */
  minPb?: number;
  /** No primary-beam files: Airy model centred on each image's reference pixel. */
  noPb?: boolean;
  projection?: 'SIN' | 'CAR';
  /**
   * Noise map from each input's local noise (robust σ in boxes of ~10 beams; default true), so it
   * follows noise that is not flat across an image; false: (Σ wA²)^(−½) with one σ per input.
   */
  localNoise?: boolean;
  /** Refuse grids with more pixels than this (memory: ~16 bytes per pixel). */
  maxPixels?: number;
  /** HISTORY lines describing how the mosaic was made (command line, version). */
  history?: string[];
  /** Extra provenance keywords for the mosaic header. */
  keywords?: Record<string, string | number | boolean>;
  version?: string;
  /** Called after each input is accumulated (for progress). */
  onInput?: (done: number, total: number) => void;
}

/** Where a member's σ came from: its primary-beam main lobe (pb ≥ 0.5), or failing that the registry, the header, the whole image. */
export type NoiseSource = 'main lobe' | 'registry' | 'header' | 'estimated';

export interface MemberInfo {
  imagePath: string;
  pbPath: string | null;
  imageId?: number;
  nx: number;
  ny: number;
  wcs: Wcs;
  beam: BeamDeg | null;
  freqHz: number | null;
  bandwidthHz: number | null;
  mjd: number | null;
  headerNoise: number | null;
  /** Filled in while building. */
  sigma?: number;
  sigmaSource?: NoiseSource;
  used?: boolean;
}

export interface MosaicPaths {
  image: string;
  noise: string;
  weight: string;
  png: string;
}

export interface BuildResult {
  paths: MosaicPaths;
  grid: MosaicGrid;
  members: MemberInfo[];
  used: number;
  beam: BeamDeg | null;
  freqHz: number | null;
  mjdObs: number | null;
  mjdStart: number | null;
  mjdEnd: number | null;
  /** Median of the noise map over valid pixels (Jy/beam). */
  noiseMedianJy: number;
  /** Solid angle of the valid (unblanked) pixels, deg². */
  coverageDeg2: number;
  /** Mean direction of the valid pixels, degrees. */
  raDeg: number;
  decDeg: number;
  validPixels: number;
  peakWeight: number;
  cut: number;
  bytes: number;
  timings: { inspect: number; accumulate: number; write: number };
}

/** Product paths for a mosaic FITS path. */
export function mosaicPaths(output: string): MosaicPaths {
  const stem = output.replace(/\.fits?$/i, '');
  return { image: output, noise: `${stem}-noise.fits`, weight: `${stem}-weight.fits`, png: `${stem}.png` };
}

/** The primary-beam file of an imager product `<stem>-image.fits` → `<stem>-pb.fits` (null if not named so). */
export function defaultPbPath(imagePath: string): string | null {
  return /-image\.fits$/i.test(imagePath) ? imagePath.replace(/-image\.fits$/i, '-pb.fits') : null;
}

function finitePositive(v: number | undefined | null): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null;
}

/** Header-only look at one input: geometry, beam, frequency, time, noise keyword; pb file checks. */
export function inspectInput(inp: BuildInput, noPb: boolean): MemberInfo {
  const file = inp.imagePath;
  if (!existsSync(file)) throw new InputError(file, 'image not found');
  const h = readFitsHeader(file);
  const naxis = h.getNumber('NAXIS', 0);
  const nx = h.getNumber('NAXIS1', 0), ny = h.getNumber('NAXIS2', 0);
  if (naxis < 2 || nx < 2 || ny < 2) throw new InputError(file, `not an image (NAXIS=${naxis}, ${nx}×${ny})`);
  for (let i = 3; i <= naxis; i++) {
    const n = h.getNumber(`NAXIS${i}`, 1);
    if (n !== 1) throw new InputError(file, `axis ${i} has ${n} planes; mosaics take single-plane images (one frequency, Stokes I)`);
  }
  const wcs = Wcs.fromHeader(h, file);
  if (wcs.frame === 'other') throw new InputError(file, 'celestial axes are neither equatorial nor galactic');
  const bmaj = finitePositive(h.getNumber('BMAJ')), bmin = finitePositive(h.getNumber('BMIN'));
  const beam = bmaj !== null && bmin !== null ? { bmajDeg: bmaj, bminDeg: bmin, bpaDeg: h.getNumber('BPA', 0) } : null;
  const freqHz = finitePositive(wcs.params.spectral?.crval);
  const bw = wcs.params.spectral ? Math.abs(wcs.params.spectral.cdelt) : null;
  const mjd = headerMjd(h);
  const headerNoise = finitePositive(h.getNumber('NOISE') ?? h.getNumber('RMS'));
  let pbPath: string | null = null;
  if (!noPb) {
    pbPath = inp.pbPath ?? defaultPbPath(file);
    if (!pbPath) throw new InputError(file, `no primary-beam file known (expected a <name>-image.fits beside <name>-pb.fits); use --no-pb for an Airy model`);
    if (!existsSync(pbPath)) throw new InputError(pbPath, `primary-beam file not found (for ${file}); use --no-pb for an Airy model`);
    const ph = readFitsHeader(pbPath);
    const pnx = ph.getNumber('NAXIS1', 0), pny = ph.getNumber('NAXIS2', 0);
    if (pnx !== nx || pny !== ny) throw new InputError(pbPath, `primary beam is ${pnx}×${pny}, image ${file} is ${nx}×${ny}`);
  }
  return { imagePath: file, pbPath, imageId: inp.imageId, nx, ny, wcs, beam, freqHz, bandwidthHz: bw, mjd, headerNoise, sigma: finitePositive(inp.noiseJy) ?? undefined, sigmaSource: finitePositive(inp.noiseJy) ? 'registry' : undefined };
}

function headerMjd(h: FitsHeader): number | null {
  const m = h.getNumber('MJD-OBS');
  if (m !== undefined && Number.isFinite(m)) return m;
  const d = h.getString('DATE-OBS');
  if (d) {
    const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(d) ? d : d + 'Z');
    if (Number.isFinite(t)) return t / 86400000 + 40587;
  }
  return null;
}

/** The largest restoring beam (by area), warning when the inputs' beams differ by > 1 %. */
function mosaicBeam(members: MemberInfo[]): BeamDeg | null {
  const beams = members.map((m) => m.beam).filter((b): b is BeamDeg => b !== null);
  if (beams.length < members.length) log.warn(`${members.length - beams.length} of ${members.length} inputs have no restoring beam (BMAJ/BMIN)`);
  if (!beams.length) return null;
  let best = beams[0];
  for (const b of beams) if (b.bmajDeg * b.bminDeg > best.bmajDeg * best.bminDeg) best = b;
  const differ = beams.some((b) => Math.abs(b.bmajDeg / best.bmajDeg - 1) > 0.01 || Math.abs(b.bminDeg / best.bminDeg - 1) > 0.01);
  if (differ) {
    const fmt = (b: BeamDeg): string => `${(b.bmajDeg * 3600).toFixed(1)}″×${(b.bminDeg * 3600).toFixed(1)}″`;
    const smallest = beams.reduce((a, b) => (b.bmajDeg * b.bminDeg < a.bmajDeg * a.bminDeg ? b : a));
    log.warn(`input restoring beams differ (${fmt(smallest)} … ${fmt(best)}); the mosaic header carries the largest, ${fmt(best)} (inputs are not convolved to a common beam)`);
  }
  return best;
}

/** Mean frequency, warning when the inputs' frequencies differ by > 0.5 %. */
function mosaicFreq(members: MemberInfo[]): { freq: number | null; bw: number | null } {
  const f = members.map((m) => m.freqHz).filter((v): v is number => v !== null);
  if (!f.length) return { freq: null, bw: null };
  const lo = Math.min(...f), hi = Math.max(...f);
  const mean = f.reduce((a, b) => a + b, 0) / f.length;
  if (hi / lo - 1 > 0.005) log.warn(`input frequencies differ (${(lo / 1e6).toFixed(2)} … ${(hi / 1e6).toFixed(2)} MHz); the mosaic is labelled with their mean, ${(mean / 1e6).toFixed(2)} MHz`);
  const bws = members.map((m) => m.bandwidthHz).filter((v): v is number => v !== null && v > 0);
  return { freq: mean, bw: bws.length ? Math.max(...bws) : null };
}

/**
 * Solid angle (deg²) and mean direction of the valid pixels. Pixel solid angle: SIN
 * |cdelt1 cdelt2| / cos ρ (ρ from the intermediate radius), CAR |cdelt1 cdelt2| cos(lat); other
 * projections the plane value (planMosaicGrid only makes SIN and CAR).
 */
function footprintStats(grid: MosaicGrid, image: Float32Array): { valid: number; areaDeg2: number; raDeg: number; decDeg: number } {
  const { nx, ny, wcs } = grid;
  const p = wcs.params;
  const a0 = Math.abs(p.cdelt[0] * p.cdelt[1] * (p.pc[0] * p.pc[3] - p.pc[1] * p.pc[2]));
  const xs = new Float64Array(nx), ys = new Float64Array(nx), lon = new Float64Array(nx), lat = new Float64Array(nx);
  for (let x = 0; x < nx; x++) xs[x] = x;
  let area = 0, valid = 0, cx = 0, cy = 0, cz = 0;
  const r1 = p.crpix[0] - 1, r2 = p.crpix[1] - 1;
  for (let y = 0; y < ny; y++) {
    const row = y * nx;
    let any = false;
    for (let x = 0; x < nx; x++) if (image[row + x] === image[row + x]) { any = true; break; }
    if (!any) continue;
    ys.fill(y);
    wcs.pixelsToWorld(xs, ys, lon, lat);
    for (let x = 0; x < nx; x++) {
      if (image[row + x] !== image[row + x]) continue;
      valid++;
      let a = a0;
      if (grid.projection === 'CAR') a = a0 * Math.cos(lat[x]);
      else if (grid.projection === 'SIN') {
        const dx = x - r1, dy = y - r2;
        const X = (p.cdelt[0] * (p.pc[0] * dx + p.pc[1] * dy)) * D2R, Y = (p.cdelt[1] * (p.pc[2] * dx + p.pc[3] * dy)) * D2R;
        a = a0 / Math.sqrt(Math.max(1e-12, 1 - X * X - Y * Y));
      }
      area += a;
      const c = Math.cos(lat[x]);
      cx += c * Math.cos(lon[x]);
      cy += c * Math.sin(lon[x]);
      cz += Math.sin(lat[x]);
    }
  }
  if (!valid) return { valid, areaDeg2: 0, raDeg: NaN, decDeg: NaN };
  let lo = Math.atan2(cy, cx), la = Math.atan2(cz, Math.hypot(cx, cy));
  // Registry centres are ICRS (a grid keeps its inputs' frame).
  if (wcs.frame === 'galactic') [lo, la] = galacticToIcrs(lo, la);
  return { valid, areaDeg2: area, raDeg: ((lo * R2D) % 360 + 360) % 360, decDeg: la * R2D };
}

/** Median of the finite values (subsampled to ≤ ~2e6 values). */
function finiteMedian(v: Float32Array): number {
  const stride = Math.max(1, Math.floor(v.length / 2_000_000));
  const s: number[] = [];
  for (let i = 0; i < v.length; i += stride) if (v[i] === v[i]) s.push(v[i]);
  if (!s.length) return NaN;
  const a = Float64Array.from(s).sort();
  const n = a.length;
  return n % 2 ? a[(n - 1) / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

function planeOf(data: Float32Array | Float64Array, n: number): Float32Array {
  if (data instanceof Float32Array) return data.subarray(0, n);
  return Float32Array.from(data.subarray(0, n));
}

/** Build a mosaic from files and write its products. Throws (leaving no product behind) on any failure. */
export async function buildMosaicFiles(inputs: BuildInput[], o: BuildOptions): Promise<BuildResult> {
  if (inputs.length === 0) throw new DsaError('no input images', { subject: o.name });
  const t0 = performance.now();
  const members = inputs.map((i) => inspectInput(i, o.noPb ?? false));
  const beam = mosaicBeam(members);
  const { freq, bw } = mosaicFreq(members);
  const grid = planMosaicGrid(members.map((m) => ({ wcs: m.wcs, nx: m.nx, ny: m.ny })), { projection: o.projection });
  const maxPixels = o.maxPixels ?? 150_000_000;
  if (grid.nx * grid.ny > maxPixels) {
    throw new DsaError(`output grid ${grid.nx}×${grid.ny} (${grid.projection}, ${(grid.cellDeg * 3600).toFixed(2)}″ cells, ${grid.extentDeg.toFixed(1)}° across) exceeds --max-pixels ${maxPixels}; plan a shorter stretch`, { subject: o.name });
  }
  log.info(`${o.name}: ${members.length} inputs → ${grid.projection} grid ${grid.nx}×${grid.ny} at ${(grid.cellDeg * 3600).toFixed(2)}″ (${grid.extentDeg.toFixed(2)}° across)`);
  const t1 = performance.now();

  let done = 0;
  const loaders = members.map((m) => async (): Promise<MosaicInput> => {
    const img = await readFits(m.imagePath);
    const n = m.nx * m.ny;
    const data = planeOf(img.data, n);
    let pb: Float32Array | PbModel;
    if (m.pbPath) {
      const pbImg = await readFits(m.pbPath);
      if (pbImg.shape[0] !== m.nx || pbImg.shape[1] !== m.ny) throw new InputError(m.pbPath, `primary beam is ${pbImg.shape[0]}×${pbImg.shape[1]}, image is ${m.nx}×${m.ny}`);
      pb = planeOf(pbImg.data, n);
      // σ where the image carries its weight (see estimateNoiseInBeam), in preference to the
      // registry's image-wide value, so that the noise map matches the mosaic's noise.
      const s = estimateNoiseInBeam(data, pb);
      if (s > 0) {
        if (m.sigma !== undefined) log.debug(`${m.imagePath}: σ ${(s * 1e3).toFixed(3)} mJy/beam in the main lobe, ${(m.sigma * 1e3).toFixed(3)} mJy/beam (${m.sigmaSource}) image-wide`);
        m.sigma = s;
        m.sigmaSource = 'main lobe';
      }
    } else {
      pb = { kind: 'airy', fwhmDeg: airyFwhm(m.freqHz ?? DEFAULT_FREQ_HZ) * R2D };
    }
    if (m.sigma === undefined) {
      if (m.headerNoise !== null) {
        m.sigma = m.headerNoise;
        m.sigmaSource = 'header';
      } else {
        const s = estimateNoise(data);
        if (!(s > 0)) throw new InputError(m.imagePath, 'cannot estimate the image noise (blank or constant image)');
        m.sigma = s;
        m.sigmaSource = 'estimated';
      }
    }
    let sigmaMap: Float32Array | undefined;
    if (o.localNoise ?? true) {
      // ~10 restoring beams across: ~300 beams per box, σ to ~5 %, yet following the rise of the
      // deconvolution errors towards the bright sources in the main lobe.
      const cell = Math.min(...m.wcs.cellDeg.map(Math.abs));
      const box = Math.round(Math.min(Math.max(m.beam ? (10 * m.beam.bmajDeg) / cell : 64, 32), Math.min(m.nx, m.ny) / 2));
      sigmaMap = localNoiseMap(data, m.nx, m.ny, box, m.sigma);
    }
    return { data, nx: m.nx, ny: m.ny, wcs: m.wcs, pb, sigma: m.sigma, sigmaMap, name: m.imagePath };
  });
  const prod = await buildLinearMosaic(grid, loaders, {
    interp: o.interp,
    minPb: o.minPb,
    onInput: (i, s) => {
      members[i].used = s.pixels > 0;
      if (s.pixels === 0) log.warn(`${members[i].imagePath}: does not overlap the mosaic grid; skipped`);
      o.onInput?.(++done, members.length);
    },
  });
  const t2 = performance.now();

  const fp = footprintStats(grid, prod.image);
  if (fp.valid === 0) throw new DsaError('mosaic has no valid pixels (all inputs blank or below the --min-pb cut)', { subject: o.name });
  const noiseMedian = finiteMedian(prod.noise);
  const used = members.filter((m) => m.used);
  const mjds = used.map((m) => m.mjd).filter((v): v is number => v !== null);
  const mjdObs = mjds.length ? mjds.reduce((a, b) => a + b, 0) / mjds.length : null;
  const mjdStart = mjds.length ? Math.min(...mjds) : null, mjdEnd = mjds.length ? Math.max(...mjds) : null;

  const outWcs = grid.wcs.withSpectral(freq ?? DEFAULT_FREQ_HZ, bw ?? 1, 1);
  const minPb = o.minPb ?? 0.2;
  const keywords: Record<string, string | number | boolean> = {
    MOSNAME: o.name.slice(0, 68),
    NMEMBER: used.length,
    MOSPROJ: grid.projection,
    INTERP: o.interp ?? 'bilinear',
    PBMODEL: o.noPb ? 'AIRY' : 'IMAGE',
    MINPB: minPb,
    WPEAK: prod.peakWeight,
    WCUT: prod.cut,
    NOISE: noiseMedian,
    ...(o.version ? { PIPEVER: o.version } : {}),
    ...(o.keywords ?? {}),
  };
  const history = [
    ...(o.history ?? []),
    (o.localNoise ?? true)
      ? 'Linear mosaic I = sum(w A I)/sum(w A^2), w = 1/sigma^2, noise = sum(w^2 A^2 s^2)^1/2 / sum(w A^2), s the local noise;'
      : 'Linear mosaic I = sum(w A I)/sum(w A^2), w = 1/sigma^2, noise = sum(w A^2)^-1/2;',
    `blanked where sum(w A^2) < ${minPb} x its peak (${prod.peakWeight.toPrecision(6)}).`,
    ...used.map((m, k) => `member ${k + 1}: ${m.imagePath} sigma=${(m.sigma as number).toPrecision(4)} Jy/beam (${m.sigmaSource})`),
  ];
  const base = { wcs: outWcs, beam: beam ?? undefined, mjdObs: mjdObs ?? undefined, object: o.name, history };
  const hImage = makeImageHeader({ ...base, keywords });
  if (mjdStart !== null) hImage.setFloat('MJD-BEG', mjdStart, '[d] earliest member MJD-OBS');
  if (mjdEnd !== null) hImage.setFloat('MJD-END', mjdEnd, '[d] latest member MJD-OBS');
  const hNoise = makeImageHeader({ ...base, keywords: { MOSNAME: keywords.MOSNAME, NMEMBER: used.length } });
  hNoise.set('BTYPE', 'Noise');
  hNoise.addComment((o.localNoise ?? true) ? 'noise map sigma = sum(w^2 A^2 s^2)^(1/2) / sum(w A^2), s each input\'s local noise, blanked as the mosaic' : 'noise map sigma = (sum w A^2)^(-1/2), blanked as the mosaic');
  const hWeight = makeImageHeader({ ...base, bunit: 'beam2 Jy-2', keywords: { MOSNAME: keywords.MOSNAME, NMEMBER: used.length, WPEAK: prod.peakWeight, WCUT: prod.cut } });
  hWeight.set('BTYPE', 'Weight');
  hWeight.addComment('sum of w A^2 (w = 1/sigma^2), not blanked');
  const png = imageToPngThumbnail(prod.image, grid.nx, grid.ny);

  const paths = mosaicPaths(o.output);
  await fsp.mkdir(path.dirname(path.resolve(o.output)), { recursive: true });
  const shape = [grid.nx, grid.ny, 1, 1];
  // All-or-nothing: every product goes to a temp sibling first; only when all are written are
  // they renamed into place (the mosaic itself last, so its presence implies the others).
  const order: Array<[keyof MosaicPaths, (tmp: string) => Promise<void>]> = [
    ['noise', (t) => writeFits(t, hNoise, prod.noise, shape)],
    ['weight', (t) => writeFits(t, hWeight, prod.weight, shape)],
    ['png', (t) => writeFileAtomic(t, png)],
    ['image', (t) => writeFits(t, hImage, prod.image, shape)],
  ];
  const temps: Array<[string, string]> = [];
  try {
    for (const [k, write] of order) {
      const tmp = tempSiblingName(paths[k]);
      temps.push([tmp, paths[k]]);
      await write(tmp);
    }
    for (const [tmp, final] of temps) await fsp.rename(tmp, final);
    await fsyncDir(path.dirname(path.resolve(o.output)));
  } catch (e) {
    await Promise.all(temps.map(([tmp]) => fsp.rm(tmp, { force: true }).catch(() => undefined)));
    throw e;
  }
  const bytes = Object.values(paths).reduce((s, p) => s + statSync(p).size, 0);
  const t3 = performance.now();
  return {
    paths, grid, members, used: used.length, beam, freqHz: freq, mjdObs, mjdStart, mjdEnd,
    noiseMedianJy: noiseMedian, coverageDeg2: fp.areaDeg2, raDeg: fp.raDeg, decDeg: fp.decDeg, validPixels: fp.valid,
    peakWeight: prod.peakWeight, cut: prod.cut, bytes,
    timings: { inspect: (t1 - t0) / 1000, accumulate: (t2 - t1) / 1000, write: (t3 - t2) / 1000 },
  };
}
