/**
 * MODEL_DATA for point sources:
 *   V(t, b, ν) = Σ_s S_s(ν) · A(θ_s(t), ν) · exp(+2πi (u l_s + v m_s + w (n_s − 1)) ν / c)
 * with uvw in metres (J2000/ICRS frame, phase centre `phaseCentre`), (l, m, n) of each source
 * relative to the phase centre, and A the Airy power beam of the dish: the beam stays on the
 * meridian while the sky drifts, so θ_s(t) is the angle between the source and that
 * integration's pointing direction (per-time ICRS ra/dec). Unpolarised: every pol gets the
 * same value (XX = YY = I). Uniformly spaced channels use a phase recurrence (one complex
 * multiply per channel instead of sin/cos).
 */
import { C_LIGHT, DISH_DIAMETER_M } from '../astro/constants.js';
import { airyPower } from '../astro/beam.js';
import { angularSeparation, lmn } from '../astro/uvw.js';
import { DsaError } from '../util/errors.js';

export interface PointSky {
  /** ICRS positions, radians (length nSrc). */
  raRad: Float64Array;
  decRad: Float64Array;
  /** Flux density per [src, chan], Jy. */
  fluxJy: Float64Array;
}

export interface PredictInput {
  nTime: number;
  nBl: number;
  nPol: number;
  freqHz: Float64Array;
  /** UVW metres per [time, baseline, 3]. */
  uvw: Float64Array;
  phaseCentreRaRad: number;
  phaseCentreDecRad: number;
  /** Per-time pointing direction (ICRS, radians); omit both for no primary beam. */
  pointingRaRad?: Float64Array;
  pointingDecRad?: Float64Array;
  dishDiameterM?: number;
  /** Output (2·nTime·nBl·nChan·nPol); allocated if absent. Overwritten, not added to. */
  out?: Float32Array;
}

/** True when channels are equally spaced to 1e-9 relative. */
function uniformSpacing(f: Float64Array): boolean {
  if (f.length < 3) return true;
  const d = f[1] - f[0];
  for (let c = 2; c < f.length; c++) if (Math.abs(f[c] - f[c - 1] - d) > 1e-9 * Math.abs(f[c])) return false;
  return true;
}

export function predictPointSources(input: PredictInput, sky: PointSky): Float32Array {
  const { nTime, nBl, nPol, freqHz, uvw } = input;
  const nChan = freqHz.length;
  const nSrc = sky.raRad.length;
  if (uvw.length !== 3 * nTime * nBl) throw new DsaError(`model: uvw has ${uvw.length / 3} rows, expected ${nTime * nBl}`);
  if (sky.fluxJy.length !== nSrc * nChan) throw new DsaError(`model: flux array has ${sky.fluxJy.length} values, expected ${nSrc}×${nChan}`);
  const cp = nChan * nPol;
  const out = input.out ?? new Float32Array(2 * nTime * nBl * cp);
  if (out.length !== 2 * nTime * nBl * cp) throw new DsaError('model: output array has the wrong length');
  out.fill(0);
  const useBeam = input.pointingRaRad !== undefined && input.pointingDecRad !== undefined;
  const dish = input.dishDiameterM ?? DISH_DIAMETER_M;
  const uniform = uniformSpacing(freqHz);
  const dnu = nChan > 1 ? freqHz[1] - freqHz[0] : 0;

  // Per source: direction cosines. Per (source, time): apparent flux per channel S·A.
  const l = new Float64Array(nSrc), m = new Float64Array(nSrc), n1 = new Float64Array(nSrc);
  for (let s = 0; s < nSrc; s++) {
    const [ls, ms, ns] = lmn(sky.raRad[s], sky.decRad[s], input.phaseCentreRaRad, input.phaseCentreDecRad);
    l[s] = ls; m[s] = ms; n1[s] = ns - 1;
  }
  const amp = new Float64Array(nSrc * nChan);
  // Complex accumulator for one (t, b) over channels (Float64 for accuracy).
  const acc = new Float64Array(2 * nChan);
  const k = (2 * Math.PI) / C_LIGHT;
  for (let t = 0; t < nTime; t++) {
    for (let s = 0; s < nSrc; s++) {
      const theta = useBeam
        ? angularSeparation(sky.raRad[s], sky.decRad[s], input.pointingRaRad![t], input.pointingDecRad![t])
        : 0;
      for (let c = 0; c < nChan; c++) {
        amp[s * nChan + c] = sky.fluxJy[s * nChan + c] * (useBeam ? airyPower(theta, freqHz[c], dish) : 1);
      }
    }
    for (let b = 0; b < nBl; b++) {
      const o = 3 * (t * nBl + b);
      const u = uvw[o], v = uvw[o + 1], w = uvw[o + 2];
      acc.fill(0);
      for (let s = 0; s < nSrc; s++) {
        // Geometric delay in metres; phase(ν) = 2π D ν / c.
        const D = u * l[s] + v * m[s] + w * n1[s];
        const a0 = s * nChan;
        if (uniform && nChan > 1) {
          // Reduce the start phase modulo 2π in cycles for precision.
          let cyc = (D * freqHz[0]) / C_LIGHT;
          cyc -= Math.round(cyc);
          const ph0 = 2 * Math.PI * cyc;
          let pr = Math.cos(ph0), pi = Math.sin(ph0);
          const dph = k * D * dnu;
          const sr = Math.cos(dph), si = Math.sin(dph);
          for (let c = 0; c < nChan; c++) {
            if ((c & 63) === 63) {
              // Re-anchor every 64 channels so rounding does not accumulate.
              let cc = (D * freqHz[c]) / C_LIGHT;
              cc -= Math.round(cc);
              pr = Math.cos(2 * Math.PI * cc);
              pi = Math.sin(2 * Math.PI * cc);
            }
            const ac = amp[a0 + c];
            acc[2 * c] += ac * pr;
            acc[2 * c + 1] += ac * pi;
            const r = pr * sr - pi * si;
            pi = pr * si + pi * sr;
            pr = r;
          }
        } else {
          for (let c = 0; c < nChan; c++) {
            let cc = (D * freqHz[c]) / C_LIGHT;
            cc -= Math.round(cc);
            const ph = 2 * Math.PI * cc;
            acc[2 * c] += amp[a0 + c] * Math.cos(ph);
            acc[2 * c + 1] += amp[a0 + c] * Math.sin(ph);
          }
        }
      }
      const base = 2 * (t * nBl + b) * cp;
      for (let c = 0; c < nChan; c++) {
        const re = acc[2 * c], im = acc[2 * c + 1];
        for (let p = 0; p < nPol; p++) {
          out[base + 2 * (c * nPol + p)] = re;
          out[base + 2 * (c * nPol + p) + 1] = im;
        }
      }
    }
  }
  return out;
}
