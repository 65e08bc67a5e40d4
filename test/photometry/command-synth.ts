/**
 * Synthetic imager products for the photometry command tests: `<name>-image.fits` (flat noise,
 * apparent flux = intrinsic × pb, Gaussian sources with the restoring beam, beam-correlated noise)
 * and `<name>-pb.fits` (a Gaussian primary beam centred on the phase centre), written with the
 * project's FITS writer and a SIN WCS.
 */
import path from 'node:path';
import { makeSinWcs, type Wcs } from '../../src/astro/wcs.js';
import { makeImageHeader, writeFits } from '../../src/io/fits.js';
import { addBeamCorrelatedNoise, addGaussian, gauss, rng } from './synth.js';

export const NX = 128, NY = 128;
export const CELL_DEG = 10 / 3600;
export const BMAJ_PIX = 4, BMIN_PIX = 3, BPA_DEG = 20;
/** 0-based pixel of the phase centre (makeSinWcs convention for even sizes). */
export const CX = NX / 2, CY = NY / 2;

export function fieldWcs(raDeg: number, decDeg: number): Wcs {
  return makeSinWcs({ raDeg, decDeg, cellDeg: CELL_DEG, nx: NX, ny: NY, freqHz: 1.405e9, bandwidthHz: 1.875e8 });
}

/** Gaussian primary beam (peak 1 at the phase centre) of FWHM `fwhmPix`, evaluated analytically. */
export function pbAt(x: number, y: number, fwhmPix: number): number {
  const r2 = (x - CX) ** 2 + (y - CY) ** 2;
  return Math.exp((-4 * Math.LN2 * r2) / (fwhmPix * fwhmPix));
}

export interface SynthSource { x: number; y: number; fluxJy: number }

export interface EpochSpec {
  wcs: Wcs;
  mjd: number;
  sources: readonly SynthSource[];
  /** Multiplies every source (calibration drift); default 1. */
  gain?: number;
  /** Noise rms, Jy/beam (beam-correlated). */
  sigma: number;
  seed: number;
  pbFwhmPix: number;
  /** Header keywords to delete (e.g. BMAJ, MJD-OBS). */
  dropKeys?: string[];
  /** Write the -pb.fits sibling (default true). */
  writePb?: boolean;
}

/** Write `<dir>/<name>-image.fits` (+ `-pb.fits`); returns the image path. */
export async function writeEpoch(dir: string, name: string, o: EpochSpec): Promise<string> {
  const data = new Float32Array(NX * NY);
  const g = gauss(rng(o.seed));
  addBeamCorrelatedNoise(data, NX, NY, o.sigma, BMAJ_PIX, BMIN_PIX, BPA_DEG, g);
  const gain = o.gain ?? 1;
  for (const s of o.sources) addGaussian(data, NX, NY, s.x, s.y, gain * s.fluxJy * pbAt(s.x, s.y, o.pbFwhmPix), BMAJ_PIX, BMIN_PIX, BPA_DEG);
  const h = makeImageHeader({
    wcs: o.wcs, mjdObs: o.mjd,
    beam: { bmajDeg: BMAJ_PIX * CELL_DEG, bminDeg: BMIN_PIX * CELL_DEG, bpaDeg: BPA_DEG },
  });
  for (const k of o.dropKeys ?? []) h.delete(k);
  const img = path.join(dir, `${name}-image.fits`);
  await writeFits(img, h, data, [NX, NY, 1, 1]);
  if (o.writePb ?? true) {
    const pb = new Float32Array(NX * NY);
    for (let y = 0; y < NY; y++) for (let x = 0; x < NX; x++) pb[y * NX + x] = pbAt(x, y, o.pbFwhmPix);
    const hp = makeImageHeader({ wcs: o.wcs, mjdObs: o.mjd, bunit: '' });
    await writeFits(path.join(dir, `${name}-pb.fits`), hp, pb, [NX, NY, 1, 1]);
  }
  return img;
}

/** Catalogue CSV text for sources at pixel positions of `wcs`. */
export function catalogCsv(wcs: Wcs, rows: readonly { name: string; x: number; y: number; mjy: number; snr?: number; resolved?: number }[], extraLines: string[] = []): string {
  const lines = ['name,ra_deg,dec_deg,flux_mjy,snr,resolved'];
  for (const r of rows) {
    const [ra, dec] = wcs.pixelToWorldDeg(r.x, r.y);
    lines.push(`${r.name},${ra.toFixed(8)},${dec.toFixed(8)},${r.mjy},${r.snr ?? ''},${r.resolved ?? 0}`);
  }
  return lines.concat(extraLines).join('\n') + '\n';
}
