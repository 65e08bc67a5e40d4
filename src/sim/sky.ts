/**
 * Sky model for the simulator: point sources with power-law or Perley–Butler (2017) polynomial
 * spectra, and a small built-in table of primary flux calibrators.
 */
import { readFileSync } from 'node:fs';
import { DEG } from '../astro/constants.js';
import { InputError } from '../util/errors.js';
import { PERLEY_BUTLER_2017 } from '../calibration/fluxmodels.js';

export interface SimSource {
  name: string;
  /** ICRS, radians. */
  raRad: number;
  decRad: number;
  /** Flux density (Jy) at refFreqHz. */
  fluxJy: number;
  spectralIndex: number;
  refFreqHz: number;
  /** Perley–Butler polynomial log10 S = Σ a_k x^k, x = log10(ν/GHz); overrides the power law. */
  pbCoeffs?: number[];
}

/** What a calibrator catalogue lookup returns (the VLA-list parser or the built-in table). */
export interface CalibratorInfo {
  name: string;
  raRad: number;
  decRad: number;
  /** Flux at 1.4 GHz (Jy). */
  fluxJy: number;
  spectralIndex?: number;
  pbCoeffs?: number[];
}

export type CalibratorLookup = (name: string) => CalibratorInfo | undefined;

export const REF_FREQ_HZ = 1.4e9;

function hms(h: number, m: number, s: number): number {
  return (h + m / 60 + s / 3600) * 15 * DEG;
}
function dms(sign: number, d: number, m: number, s: number): number {
  return sign * (d + m / 60 + s / 3600) * DEG;
}

/** Perley & Butler 2017 coefficients (one table, in calibration/fluxmodels); positions J2000 from the VLA list. */
const BUILTIN: { names: string[]; ra: number; dec: number; pb: number[] }[] = [
  { names: ['3C286', '1331+305', 'J1331+3030'], ra: hms(13, 31, 8.288), dec: dms(1, 30, 30, 32.96), pb: [...PERLEY_BUTLER_2017['3C286']!] },
  { names: ['3C48', '0137+331', 'J0137+3309'], ra: hms(1, 37, 41.2994), dec: dms(1, 33, 9, 35.134), pb: [...PERLEY_BUTLER_2017['3C48']!] },
  { names: ['3C147', '0542+498', 'J0542+4951'], ra: hms(5, 42, 36.1379), dec: dms(1, 49, 51, 7.234), pb: [...PERLEY_BUTLER_2017['3C147']!] },
  { names: ['3C138', '0521+166', 'J0521+1638'], ra: hms(5, 21, 9.886), dec: dms(1, 16, 38, 22.051), pb: [...PERLEY_BUTLER_2017['3C138']!] },
];

export function pbFlux(coeffs: readonly number[], freqHz: number): number {
  const x = Math.log10(freqHz / 1e9);
  let s = 0;
  for (let k = coeffs.length - 1; k >= 0; k--) s = s * x + coeffs[k];
  return 10 ** s;
}

/** Spectral index d log S / d log ν of a PB polynomial at freqHz. */
export function pbSpectralIndex(coeffs: readonly number[], freqHz: number): number {
  const x = Math.log10(freqHz / 1e9);
  let s = 0;
  for (let k = coeffs.length - 1; k >= 1; k--) s = s * x + k * coeffs[k];
  return s;
}

/** The built-in calibrator table (3C286, 3C48, 3C147, 3C138). */
export const builtinCalibratorLookup: CalibratorLookup = (name) => {
  const key = name.trim().toUpperCase().replace(/\s+/g, '');
  const e = BUILTIN.find((b) => b.names.some((n) => n.toUpperCase() === key));
  if (!e) return undefined;
  return {
    name: e.names[0],
    raRad: e.ra,
    decRad: e.dec,
    fluxJy: pbFlux(e.pb, REF_FREQ_HZ),
    spectralIndex: pbSpectralIndex(e.pb, REF_FREQ_HZ),
    pbCoeffs: e.pb.slice(),
  };
};

export function sourceFlux(s: SimSource, freqHz: number): number {
  if (s.pbCoeffs) return pbFlux(s.pbCoeffs, freqHz);
  return s.fluxJy * (freqHz / s.refFreqHz) ** s.spectralIndex;
}

export function calibratorToSource(c: CalibratorInfo): SimSource {
  return {
    name: c.name,
    raRad: c.raRad,
    decRad: c.decRad,
    fluxJy: c.fluxJy,
    spectralIndex: c.spectralIndex ?? -0.7,
    refFreqHz: REF_FREQ_HZ,
    pbCoeffs: c.pbCoeffs,
  };
}

/** Source list from JSON objects: {name?, ra_deg|raDeg, dec_deg|decDeg, flux_jy|fluxJy, spectral_index?, ref_freq_hz?}. */
export function parseSources(list: unknown, subject: string): SimSource[] {
  if (!Array.isArray(list)) throw new InputError(subject, 'sources must be a JSON array of objects');
  return list.map((o, i) => {
    if (!o || typeof o !== 'object') throw new InputError(subject, `source ${i} is not an object`);
    const r = o as Record<string, unknown>;
    const pick = (...keys: string[]): number | undefined => {
      for (const k of keys) if (typeof r[k] === 'number') return r[k] as number;
      return undefined;
    };
    const ra = pick('ra_deg', 'raDeg', 'ra');
    const dec = pick('dec_deg', 'decDeg', 'dec');
    const flux = pick('flux_jy', 'fluxJy', 'flux');
    if (ra === undefined || dec === undefined || flux === undefined) {
      throw new InputError(subject, `source ${i} needs ra_deg, dec_deg and flux_jy`);
    }
    if (Math.abs(dec) > 90) throw new InputError(subject, `source ${i}: dec ${dec} outside ±90°`);
    return {
      name: typeof r['name'] === 'string' ? (r['name'] as string) : `src${i}`,
      raRad: ra * DEG,
      decRad: dec * DEG,
      fluxJy: flux,
      spectralIndex: pick('spectral_index', 'spectralIndex', 'alpha') ?? -0.7,
      refFreqHz: pick('ref_freq_hz', 'refFreqHz') ?? REF_FREQ_HZ,
    };
  });
}

export function loadSourcesFile(file: string): SimSource[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(file, `cannot read sources file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InputError(file, 'sources file is not valid JSON');
  }
  return parseSources(parsed, file);
}
