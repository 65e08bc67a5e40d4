/**
 * Which catalogue calibrators transit through the DSA-110 beam during a group.
 *
 * The dishes point at the meridian (HA = 0) at a fixed apparent declination, so the pointing
 * direction in ICRS moves in RA at the sidereal rate. A calibrator matches when its smallest
 * separation from the pointing direction during [start, end] is within `radiusRad` (1° by
 * default). Matches are ranked by primary-beam-weighted flux S(ν)·A(θ_min, ν) (Airy, 4.65 m).
 */
import { DISH_DIAMETER_M, DSA110_SITE, type Site } from '../astro/constants.js';
import { airyPower } from '../astro/beam.js';
import { meridianIcrs } from '../astro/frames.js';
import { angularSeparation } from '../astro/uvw.js';
import { DsaError } from '../util/errors.js';
import type { CalibratorCatalog } from './catalog.js';
import { calibratorFluxJy, standardModelName, type FluxModelOptions } from './fluxmodels.js';

export interface TransitQuery {
  /** Apparent (of date) pointing declination, radians. */
  decAppRad: number;
  /** Group time range, JD (UTC). */
  startJdUtc: number;
  endJdUtc: number;
  /** Match radius, radians (default 1°). */
  radiusRad?: number;
  /** Frequency for flux and beam, Hz (default 1.405 GHz, DSA-110 band centre). */
  freqHz?: number;
  site?: Site;
  dishDiameterM?: number;
  /** Pointing samples per group: spacing in seconds (default 10 s). */
  stepSeconds?: number;
  flux?: FluxModelOptions;
}

export interface TransitMatch {
  index: number;
  name: string;
  altName: string;
  raRad: number;
  decRad: number;
  /** Time of closest approach to the pointing direction, JD UTC. */
  transitJdUtc: number;
  /** Smallest separation from the pointing direction, radians. */
  separationRad: number;
  fluxJy: number;
  /** Primary-beam response at closest approach. */
  beam: number;
  /** fluxJy × beam: the ranking figure. */
  beamWeightedFluxJy: number;
  /** PB2017 model name if a standard flux calibrator, else ''. */
  standardModel: string;
}

/** All catalogue calibrators within the radius during the group, best first. */
export function findTransitingCalibrators(cat: CalibratorCatalog, q: TransitQuery): TransitMatch[] {
  const radius = q.radiusRad ?? Math.PI / 180;
  const freq = q.freqHz ?? 1.405e9;
  const site = q.site ?? DSA110_SITE;
  const dish = q.dishDiameterM ?? DISH_DIAMETER_M;
  if (!(q.endJdUtc >= q.startJdUtc)) throw new DsaError('transit search: end time before start time');
  const span = (q.endJdUtc - q.startJdUtc) * 86400;
  const step = q.stepSeconds ?? 10;
  const nS = Math.max(2, Math.ceil(span / step) + 1);
  const pra = new Float64Array(nS), pdec = new Float64Array(nS), pjd = new Float64Array(nS);
  let decMin = Infinity, decMax = -Infinity;
  for (let k = 0; k < nS; k++) {
    const jd = q.startJdUtc + ((q.endJdUtc - q.startJdUtc) * k) / (nS - 1);
    const [ra, dec] = meridianIcrs(jd, q.decAppRad, site);
    pra[k] = ra; pdec[k] = dec; pjd[k] = jd;
    decMin = Math.min(decMin, dec);
    decMax = Math.max(decMax, dec);
  }
  const out: TransitMatch[] = [];
  for (let i = 0; i < cat.count; i++) {
    const dec = cat.decRad[i];
    if (dec < decMin - radius || dec > decMax + radius) continue; // cheap declination cut
    const ra = cat.raRad[i];
    let best = Infinity, bestK = 0;
    for (let k = 0; k < nS; k++) {
      const s = angularSeparation(ra, dec, pra[k], pdec[k]);
      if (s < best) { best = s; bestK = k; }
    }
    // The closest approach at the first or last sample means the transit itself falls outside
    // this time range (the source is only passing the edge of the beam): not a transit here.
    if (bestK === 0 || bestK === nS - 1) continue;
    // Refine the closest approach between samples with a parabola in separation².
    let tBest = pjd[bestK];
    if (bestK > 0 && bestK < nS - 1) {
      const y0 = angularSeparation(ra, dec, pra[bestK - 1], pdec[bestK - 1]) ** 2;
      const y1 = best * best;
      const y2 = angularSeparation(ra, dec, pra[bestK + 1], pdec[bestK + 1]) ** 2;
      const den = y0 - 2 * y1 + y2;
      if (den > 0) {
        const f = (0.5 * (y0 - y2)) / den;
        tBest = pjd[bestK] + f * (pjd[bestK + 1] - pjd[bestK]);
        best = Math.sqrt(Math.max(0, y1 - (0.25 * (y0 - y2) * f)));
      }
    }
    if (best > radius) continue;
    const flux = calibratorFluxJy(cat, i, freq, q.flux);
    if (!Number.isFinite(flux)) continue; // no flux information at all
    const beam = airyPower(best, freq, dish);
    out.push({
      index: i, name: cat.name[i], altName: cat.altName[i], raRad: ra, decRad: dec, transitJdUtc: tBest,
      separationRad: best, fluxJy: flux, beam, beamWeightedFluxJy: flux * beam, standardModel: standardModelName(cat, i),
    });
  }
  out.sort((a, b) => b.beamWeightedFluxJy - a.beamWeightedFluxJy);
  return out;
}

/** The best transiting calibrator; a clear DsaError when none is within the radius. */
export function selectTransitCalibrator(cat: CalibratorCatalog, q: TransitQuery): TransitMatch {
  const m = findTransitingCalibrators(cat, q);
  if (m.length === 0) {
    const r = ((q.radiusRad ?? Math.PI / 180) * 180) / Math.PI;
    throw new DsaError(
      `no calibrator from ${cat.path} within ${r.toFixed(2)}° of the meridian pointing (dec ${((q.decAppRad * 180) / Math.PI).toFixed(3)}°) during the group`,
    );
  }
  return m[0];
}
