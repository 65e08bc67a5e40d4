/**
 * Choosing the members of a mosaic from candidate images: reject noise outliers robustly, then
 * apply the tier's limit on the number of images. Pure functions (the registry query is in
 * src/registry/mosaics.ts) so that the rules can be tested and reused by other planners.
 */
import type { MosaicTier } from '../registry/mosaics.js';

/** Most images a mosaic of each tier may hold. */
export const TIER_MAX_IMAGES: Readonly<Record<MosaicTier, number>> = { quicklook: 10, science: 100, deep: 1000 };

/**
 * Outlier cut: noise > max(median + OUTLIER_NSIGMA × 1.4826 × MAD, OUTLIER_MIN_RATIO × median) of
 * the candidates' noise. The floor matters on short nights of well-behaved groups: their noise is
 * so alike (4.0–4.4 mJy) that 3 MADs rejected a group at 5.5 mJy, leaving a hole in the strip,
 * although the inverse-variance weights already make it count less.
 */
export const OUTLIER_NSIGMA = 3;
export const OUTLIER_MIN_RATIO = 1.5;

export interface Candidate {
  id: number;
  noise_jy: number | null;
  mid_mjd: number | null;
  ra_deg: number | null;
  dec_deg: number | null;
}

export interface MemberSelection<T extends Candidate> {
  /** Members, in time order. */
  selected: T[];
  /** Rejected as noise outliers. */
  outliers: T[];
  /** Beyond the tier's count limit (the latest ones: the plan keeps a contiguous run from the start). */
  overLimit: T[];
  /** Noise statistics of the candidates with known noise (null when fewer than 3 have one). */
  medianNoise: number | null;
  madNoise: number | null;
  /** The outlier threshold applied (Jy), or null when none could be computed. */
  threshold: number | null;
  limit: number;
}

function median(v: Float64Array): number {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/**
 * Select members. Candidates without a known noise are kept (their noise is measured at build
 * time); the outlier statistics need at least 3 known values. A MAD of 0 (identical noise) gives
 * threshold = 1.5 × median, and only strictly larger noise is rejected.
 */
export function selectMembers<T extends Candidate>(cands: readonly T[], tier: MosaicTier, opts: { maxImages?: number } = {}): MemberSelection<T> {
  const limit = opts.maxImages ?? TIER_MAX_IMAGES[tier];
  const known = cands.filter((c) => c.noise_jy !== null && Number.isFinite(c.noise_jy) && (c.noise_jy as number) > 0);
  let med: number | null = null, mad: number | null = null, threshold: number | null = null;
  if (known.length >= 3) {
    const v = Float64Array.from(known, (c) => c.noise_jy as number);
    med = median(v);
    mad = median(v.map((x) => Math.abs(x - (med as number))));
    threshold = Math.max(med + OUTLIER_NSIGMA * 1.4826 * mad, OUTLIER_MIN_RATIO * med);
  }
  const sorted = [...cands].sort((a, b) => (a.mid_mjd ?? 0) - (b.mid_mjd ?? 0) || a.id - b.id);
  const kept: T[] = [], outliers: T[] = [];
  for (const c of sorted) {
    if (threshold !== null && c.noise_jy !== null && c.noise_jy > threshold) outliers.push(c);
    else kept.push(c);
  }
  return { selected: kept.slice(0, limit), outliers, overLimit: kept.slice(limit), medianNoise: med, madNoise: mad, threshold, limit };
}

/** Mean direction (degrees) of the candidates' pointing centres, or null if none is known. */
export function meanDirection(cands: readonly Candidate[]): { raDeg: number; decDeg: number } | null {
  let x = 0, y = 0, z = 0, n = 0;
  const D2R = Math.PI / 180;
  for (const c of cands) {
    if (c.ra_deg === null || c.dec_deg === null) continue;
    const ra = c.ra_deg * D2R, dec = c.dec_deg * D2R;
    x += Math.cos(dec) * Math.cos(ra);
    y += Math.cos(dec) * Math.sin(ra);
    z += Math.sin(dec);
    n++;
  }
  if (!n) return null;
  const ra = (Math.atan2(y, x) / D2R + 360) % 360;
  return { raDeg: ra, decDeg: Math.atan2(z, Math.hypot(x, y)) / D2R };
}
