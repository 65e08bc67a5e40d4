/**
 * Synthetic DSA-110 "group images" for the mosaic command tests: SIN images along a drift strip
 * at dec 55°, each = Σ sources × Airy pb(pointing) ⊛ restoring beam + beam-correlated noise of a
 * known rms, written as <name>-image.fits and <name>-pb.fits like the imager's products.
 */
import path from 'node:path';
import { makeSinWcs, type Wcs } from '../../src/astro/wcs.js';
import { airyPower } from '../../src/astro/beam.js';
import { makeImageHeader, writeFits } from '../../src/io/fits.js';

export const D2R = Math.PI / 180;
export const FREQ_HZ = 1.405e9;
export const N = 256;
export const CELL_DEG = 60 / 3600;
export const DEC0 = 55;
export const RA0 = 150;
/** Restoring beam FWHM: 5 pixels (300″). */
export const BEAM_DEG = 300 / 3600;
/** One 309 s group of sidereal drift in RA (degrees): 309 s × 15.041″/s. */
export const GROUP_RA_STEP_DEG = (309 * 15.0410686) / 3600;
export const GROUP_DAYS = 309 / 86400;

export interface Source { ra: number; dec: number; flux: number }

/** True sky: point sources (degrees, Jy). Spread along the strip and across it in dec. */
export const SOURCES: Source[] = [
  { ra: 151.4, dec: 55.3, flux: 3.0 },
  { ra: 152.6, dec: 54.6, flux: 2.0 },
  { ra: 153.6, dec: 55.05, flux: 4.0 },
  { ra: 154.8, dec: 55.6, flux: 2.5 },
  { ra: 155.9, dec: 54.8, flux: 3.5 },
  { ra: 157.0, dec: 55.2, flux: 2.0 },
  { ra: 150.3, dec: 56.4, flux: 3.0 },
];

export function sep(ra1: number, dec1: number, ra2: number, dec2: number): number {
  const a = D2R;
  const sd = Math.sin(((dec2 - dec1) * a) / 2), sr = Math.sin(((ra2 - ra1) * a) / 2);
  return 2 * Math.asin(Math.min(1, Math.sqrt(sd * sd + Math.cos(dec1 * a) * Math.cos(dec2 * a) * sr * sr)));
}

/** Deterministic N(0,1) generator (mulberry32 + Box–Muller). */
export function gauss(seed: number): () => number {
  let s = seed >>> 0;
  const u = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** White noise smoothed by a Gaussian of FWHM `fwhmPix` (separable), rescaled to rms exactly σ. */
function correlatedNoise(n: number, fwhmPix: number, sigma: number, seed: number): Float32Array {
  const g = gauss(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = g();
  const s = fwhmPix / 2.3548;
  const h = Math.ceil(4 * s);
  const k = new Float64Array(2 * h + 1);
  for (let i = -h; i <= h; i++) k[i + h] = Math.exp(-0.5 * (i / s) ** 2);
  const b = new Float64Array(n * n);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    let v = 0;
    for (let i = -h; i <= h; i++) v += k[i + h] * a[y * n + ((x + i + n) % n)];
    b[y * n + x] = v;
  }
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    let v = 0;
    for (let i = -h; i <= h; i++) v += k[i + h] * b[((y + i + n) % n) * n + x];
    a[y * n + x] = v;
  }
  let m = 0, q = 0;
  for (let i = 0; i < a.length; i++) m += a[i];
  m /= a.length;
  for (let i = 0; i < a.length; i++) q += (a[i] - m) ** 2;
  const f = sigma / Math.sqrt(q / a.length);
  const out = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] - m) * f;
  return out;
}

export interface GroupSpec {
  name: string;
  raDeg: number;
  decDeg: number;
  mjd: number;
  sigma: number;
  seed: number;
  beamDeg?: number;
  /** Write the -pb.fits file (default true). */
  writePb?: boolean;
}

export interface GroupFiles { image: string; pb: string; wcs: Wcs }

/** Write <dir>/<name>-image.fits and <name>-pb.fits for one group. */
export async function writeGroup(dir: string, g: GroupSpec): Promise<GroupFiles> {
  const beam = g.beamDeg ?? BEAM_DEG;
  const wcs = makeSinWcs({ raDeg: g.raDeg, decDeg: g.decDeg, cellDeg: CELL_DEG, nx: N, ny: N, freqHz: FREQ_HZ, bandwidthHz: 187.5e6 });
  const img = correlatedNoise(N, beam / CELL_DEG, g.sigma, g.seed);
  const pb = new Float32Array(N * N);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) {
    const [ra, dec] = wcs.pixelToWorldDeg(x, y);
    pb[y * N + x] = airyPower(sep(ra, dec, g.raDeg, g.decDeg), FREQ_HZ);
  }
  const fw = beam * D2R;
  for (const s of SOURCES) {
    const A = airyPower(sep(s.ra, s.dec, g.raDeg, g.decDeg), FREQ_HZ);
    const [px, py] = wcs.worldToPixelDeg(s.ra, s.dec);
    if (!Number.isFinite(px)) continue;
    const r = Math.ceil((4 * beam) / CELL_DEG);
    for (let y = Math.max(0, Math.round(py) - r); y <= Math.min(N - 1, Math.round(py) + r); y++) {
      for (let x = Math.max(0, Math.round(px) - r); x <= Math.min(N - 1, Math.round(px) + r); x++) {
        const [ra, dec] = wcs.pixelToWorldDeg(x, y);
        const d = sep(ra, dec, s.ra, s.dec) / fw;
        img[y * N + x] += s.flux * A * Math.exp(-4 * Math.LN2 * d * d);
      }
    }
  }
  const h = makeImageHeader({ wcs, beam: { bmajDeg: beam, bminDeg: beam, bpaDeg: 0 }, mjdObs: g.mjd, object: g.name });
  const hp = makeImageHeader({ wcs, bunit: '', mjdObs: g.mjd, object: g.name });
  const image = path.join(dir, `${g.name}-image.fits`);
  const pbPath = path.join(dir, `${g.name}-pb.fits`);
  await writeFits(image, h, img, [N, N, 1, 1]);
  if (g.writePb !== false) await writeFits(pbPath, hp, pb, [N, N, 1, 1]);
  return { image, pb: pbPath, wcs };
}
