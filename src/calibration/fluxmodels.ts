/**
 * Calibrator flux-density models.
 * Perley & Butler 2017 (ApJS 230, 7), Table 6: log10(S/Jy) = Σ aₙ (log10 ν/GHz)ⁿ, valid about
 * 50 MHz – 50 GHz. Other calibrators: their catalogue 20 cm flux, flat or with a power-law
 * spectral index S ∝ ν^α about 1.4 GHz when one is known and asked for.
 */
import type { CalibratorCatalog } from './catalog.js';
import { normaliseName } from './catalog.js';

export const PERLEY_BUTLER_2017: Readonly<Record<string, readonly number[]>> = Object.freeze({
  '3C48': [1.3253, -0.7553, -0.1914, 0.0498],
  '3C138': [1.0088, -0.4981, -0.155, -0.01, 0.022],
  '3C147': [1.4516, -0.6961, -0.201, 0.064, -0.046, 0.029],
  '3C286': [1.2481, -0.4507, -0.1798, 0.0357],
  '3C295': [1.4701, -0.7658, -0.278, -0.0347, 0.0399],
  '3C196': [1.2872, -0.853, -0.153, -0.02, 0.0201],
});

/** Frequency (Hz) the catalogue's 20 cm fluxes refer to. */
export const REF_FREQ_20CM_HZ = 1.4e9;

/** PB2017 flux density (Jy) of a standard calibrator by name ("3C286", "3C 286"), or undefined. */
export function perleyButler2017(name: string, freqHz: number): number | undefined {
  const c = PERLEY_BUTLER_2017[normaliseName(name)];
  if (!c) return undefined;
  const x = Math.log10(freqHz / 1e9);
  let y = 0;
  for (let n = c.length - 1; n >= 0; n--) y = y * x + c[n];
  return 10 ** y;
}

/** The PB2017 key for a catalogue entry (via its primary or alternate name), or ''. */
export function standardModelName(cat: CalibratorCatalog, i: number): string {
  for (const nm of [cat.altName[i], cat.name[i]]) {
    const k = normaliseName(nm ?? '');
    if (PERLEY_BUTLER_2017[k]) return k;
  }
  return '';
}

export interface FluxModelOptions {
  /** Use the catalogue spectral index for non-standard calibrators (default false: flat). */
  useSpectralIndex?: boolean;
}

/**
 * Flux density of catalogue source i at each frequency (Jy): PB2017 for the standard
 * calibrators, else the 20 cm flux (flat, or scaled by the spectral index).
 * NaN when the source has no 20 cm flux and no standard model.
 */
export function calibratorSpectrum(
  cat: CalibratorCatalog, i: number, freqHz: Float64Array, opts: FluxModelOptions = {}, out = new Float64Array(freqHz.length),
): Float64Array {
  const std = standardModelName(cat, i);
  if (std) {
    for (let c = 0; c < freqHz.length; c++) out[c] = perleyButler2017(std, freqHz[c])!;
    return out;
  }
  const s0 = cat.flux20cmJy[i];
  const alpha = opts.useSpectralIndex && Number.isFinite(cat.spectralIndex[i]) ? cat.spectralIndex[i] : 0;
  for (let c = 0; c < freqHz.length; c++) out[c] = alpha === 0 ? s0 : s0 * (freqHz[c] / REF_FREQ_20CM_HZ) ** alpha;
  return out;
}

/** Flux density of catalogue source i at one frequency (Jy). */
export function calibratorFluxJy(cat: CalibratorCatalog, i: number, freqHz: number, opts: FluxModelOptions = {}): number {
  return calibratorSpectrum(cat, i, Float64Array.of(freqHz), opts)[0];
}
