/**
 * Simple flagging modes on a cube (in place on cube.flags). Each returns the number of samples
 * whose flag changed (newly flagged; for reset, the number unflagged).
 * Index ranges are half-open [start, end); negative or out-of-range bounds are clipped.
 */
import type { Cube } from './types.js';
import { MAD_TO_SIGMA, medianInPlace } from './stats.js';
import { UsageError } from '../util/errors.js';

/** Unflag everything. Returns the number of samples that were flagged. */
export function flagReset(cube: Cube): number {
  let n = 0;
  const f = cube.flags;
  for (let i = 0; i < f.length; i++) n += f[i] !== 0 ? 1 : 0;
  f.fill(0);
  return n;
}

/** Flag visibilities that are exactly 0 + 0i, or have a NaN/Inf component. */
/** flagZeros on baselines [b0, b1) only (every time and channel). */
export function flagZerosRange(cube: Cube, b0: number, b1: number): number {
  const { nTime, nBl, nChan, nPol, data, flags } = cube;
  const per = nChan * nPol;
  let n = 0;
  for (let t = 0; t < nTime; t++) {
    for (let i = (t * nBl + b0) * per, end = (t * nBl + b1) * per; i < end; i++) {
      const re = data[2 * i], im = data[2 * i + 1];
      if ((re === 0 && im === 0) || re - re !== 0 || im - im !== 0) {
        if (flags[i] === 0) { flags[i] = 1; n++; }
      }
    }
  }
  return n;
}

export function flagZeros(cube: Cube): number { return flagZerosRange(cube, 0, cube.nBl); }

/** Sets every flag of baseline b (all times, channels, pols); returns newly flagged. */
function flagBaseline(cube: Cube, b: number, c0 = 0, c1 = cube.nChan, t0 = 0, t1 = cube.nTime, pols?: ArrayLike<number>): number {
  const { nBl, nChan, nPol, flags } = cube;
  let n = 0;
  for (let t = t0; t < t1; t++) {
    const base = (t * nBl + b) * nChan * nPol;
    for (let c = c0; c < c1; c++) {
      const i0 = base + c * nPol;
      if (pols === undefined) {
        for (let p = 0; p < nPol; p++) if (flags[i0 + p] === 0) { flags[i0 + p] = 1; n++; }
      } else {
        for (let k = 0; k < pols.length; k++) { const i = i0 + pols[k]; if (flags[i] === 0) { flags[i] = 1; n++; } }
      }
    }
  }
  return n;
}

/** Flag autocorrelations (ant1 == ant2). */
export function flagAutocorr(cube: Cube): number {
  let n = 0;
  for (let b = 0; b < cube.nBl; b++) if (cube.ant1[b] === cube.ant2[b]) n += flagBaseline(cube, b);
  return n;
}

/** Flag samples whose amplitude is outside [min, max] (CASA clip). NaN amplitudes are flagged. */
export function flagClip(cube: Cube, min: number, max: number): number {
  if (!(min <= max)) throw new UsageError(`clip: need MIN ≤ MAX, got ${min},${max}`);
  const { data, flags } = cube;
  const min2 = min > 0 ? min * min : 0;
  const max2 = max * max;
  let n = 0;
  for (let i = 0; i < flags.length; i++) {
    const re = data[2 * i];
    const im = data[2 * i + 1];
    const a2 = re * re + im * im;
    if (!(a2 >= min2 && a2 <= max2)) if (flags[i] === 0) { flags[i] = 1; n++; }
  }
  return n;
}

/** A half-open index range [start, end). */
export type IndexRange = readonly [number, number];

export interface ManualSelection {
  /** Antenna numbers: a baseline is selected when either of its antennas is listed. */
  antennas?: readonly number[];
  /** Explicit baselines as antenna pairs (order-insensitive). */
  baselines?: readonly (readonly [number, number])[];
  /** Channel index ranges [start, end). */
  channels?: readonly IndexRange[];
  /** Time index ranges [start, end) (the command converts ISO times to indices). */
  times?: readonly IndexRange[];
  /** Polarisation indices. */
  pols?: readonly number[];
}

function rangesToMask(ranges: readonly IndexRange[] | undefined, n: number, what: string): Uint8Array {
  const m = new Uint8Array(n);
  if (ranges === undefined) { m.fill(1); return m; }
  for (const [a, b] of ranges) {
    if (!Number.isFinite(a) || !Number.isFinite(b) || a > b) throw new UsageError(`manual: bad ${what} range [${a}, ${b})`);
    m.fill(1, Math.max(0, Math.floor(a)), Math.min(n, Math.ceil(b)));
  }
  return m;
}

/**
 * Flag the intersection of the given selectors (CASA "manual" semantics: each selector that is
 * present restricts the selection; an absent one means "all"). An empty selection flags nothing;
 * a selection with no selector at all is refused (it would flag everything by accident).
 */
export function flagManual(cube: Cube, sel: ManualSelection): number {
  const { nTime, nBl, nChan, nPol, ant1, ant2, flags } = cube;
  if (sel.antennas === undefined && sel.baselines === undefined && sel.channels === undefined && sel.times === undefined && sel.pols === undefined) {
    throw new UsageError('manual: give at least one of antennas, baselines, channels, times, pols');
  }
  const blSel = new Uint8Array(nBl);
  if (sel.antennas === undefined && sel.baselines === undefined) blSel.fill(1);
  else {
    const ants = new Set(sel.antennas ?? []);
    const pairs = new Set((sel.baselines ?? []).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`));
    for (let b = 0; b < nBl; b++) {
      const a1 = ant1[b], a2 = ant2[b];
      if (ants.has(a1) || ants.has(a2) || pairs.has(`${Math.min(a1, a2)}-${Math.max(a1, a2)}`)) blSel[b] = 1;
    }
  }
  const tSel = rangesToMask(sel.times, nTime, 'time');
  const cSel = rangesToMask(sel.channels, nChan, 'channel');
  const pSel = new Uint8Array(nPol);
  if (sel.pols === undefined) pSel.fill(1);
  else for (const p of sel.pols) {
    if (!(Number.isInteger(p) && p >= 0 && p < nPol)) throw new UsageError(`manual: polarisation index ${p} out of range 0…${nPol - 1}`);
    pSel[p] = 1;
  }
  let n = 0;
  for (let t = 0; t < nTime; t++) {
    if (!tSel[t]) continue;
    for (let b = 0; b < nBl; b++) {
      if (!blSel[b]) continue;
      const base = (t * nBl + b) * nChan * nPol;
      for (let c = 0; c < nChan; c++) {
        if (!cSel[c]) continue;
        for (let p = 0; p < nPol; p++) {
          const i = base + c * nPol + p;
          if (pSel[p] && flags[i] === 0) { flags[i] = 1; n++; }
        }
      }
    }
  }
  return n;
}

/**
 * Flag the first `seconds` of the scan: every integration with time < times[0] + seconds
 * (times in seconds, e.g. MJD seconds; taken from `times` or cube.times).
 */
export function flagQuack(cube: Cube, seconds: number, times: Float64Array | undefined = cube.times): number {
  if (times === undefined || times.length !== cube.nTime) {
    throw new UsageError(`quack: need ${cube.nTime} time values (seconds), got ${times?.length ?? 'none'}`);
  }
  if (!(seconds >= 0)) throw new UsageError(`quack: seconds must be ≥ 0, got ${seconds}`);
  let t0 = Infinity;
  for (let t = 0; t < times.length; t++) if (times[t] < t0) t0 = times[t];
  const ranges: IndexRange[] = [];
  for (let t = 0; t < times.length; t++) if (times[t] < t0 + seconds) ranges.push([t, t + 1]);
  return ranges.length === 0 ? 0 : flagManual(cube, { times: ranges });
}

/** Fraction of flagged samples per antenna (each baseline counts for both its antennas). */
export function antennaFlagFractions(cube: Cube): Float64Array {
  const { nTime, nBl, nChan, nPol, ant1, ant2, flags } = cube;
  let nAnt = 0;
  for (let b = 0; b < nBl; b++) nAnt = Math.max(nAnt, ant1[b] + 1, ant2[b] + 1);
  const perBl = new Float64Array(nBl);
  const per = nChan * nPol;
  for (let t = 0; t < nTime; t++) {
    for (let b = 0; b < nBl; b++) {
      const base = (t * nBl + b) * per;
      let s = 0;
      for (let k = 0; k < per; k++) s += flags[base + k];
      perBl[b] += s;
    }
  }
  const num = new Float64Array(nAnt);
  const den = new Float64Array(nAnt);
  const tot = nTime * per;
  for (let b = 0; b < nBl; b++) {
    num[ant1[b]] += perBl[b];
    den[ant1[b]] += tot;
    if (ant2[b] !== ant1[b]) { num[ant2[b]] += perBl[b]; den[ant2[b]] += tot; }
  }
  const out = new Float64Array(nAnt);
  for (let a = 0; a < nAnt; a++) out[a] = den[a] > 0 ? num[a] / den[a] : NaN;
  return out;
}

/**
 * Flag every baseline of antennas whose flagged fraction already exceeds `fraction`
 * (autocorrelations are left out of the fraction, so an antenna is judged by its fringes).
 */
export function flagDeadAntennas(cube: Cube, fraction: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new UsageError(`deadAntennas: fraction must be in [0, 1], got ${fraction}`);
  const { nBl, ant1, ant2 } = cube;
  const frac = crossFractions(cube);
  let n = 0;
  for (let b = 0; b < nBl; b++) {
    const f1 = frac[ant1[b]], f2 = frac[ant2[b]];
    if (f1 > fraction || f2 > fraction) n += flagBaseline(cube, b);
  }
  return n;
}

function crossFractions(cube: Cube): Float64Array {
  const { nTime, nBl, nChan, nPol, ant1, ant2, flags } = cube;
  let nAnt = 0;
  for (let b = 0; b < nBl; b++) nAnt = Math.max(nAnt, ant1[b] + 1, ant2[b] + 1);
  const num = new Float64Array(nAnt);
  const den = new Float64Array(nAnt);
  const per = nChan * nPol;
  for (let t = 0; t < nTime; t++) {
    for (let b = 0; b < nBl; b++) {
      if (ant1[b] === ant2[b]) continue;
      const base = (t * nBl + b) * per;
      let s = 0;
      for (let k = 0; k < per; k++) s += flags[base + k];
      num[ant1[b]] += s; num[ant2[b]] += s;
      den[ant1[b]] += per; den[ant2[b]] += per;
    }
  }
  const out = new Float64Array(nAnt);
  for (let a = 0; a < nAnt; a++) out[a] = den[a] > 0 ? num[a] / den[a] : NaN;
  return out;
}

/**
 * Per baseline and polarisation, flag amplitudes above median + nSigma·1.4826·MAD of its
 * unflagged amplitudes (all times and channels).
 */
export function flagMadClip(cube: Cube, nSigma: number, includeAutos = false): number {
  if (!(nSigma > 0)) throw new UsageError(`madClip: N must be > 0, got ${nSigma}`);
  const { nTime, nBl, nChan, nPol, data, flags, ant1, ant2 } = cube;
  const buf = new Float64Array(nTime * nChan);
  let n = 0;
  for (let b = 0; b < nBl; b++) {
    if (!includeAutos && ant1[b] === ant2[b]) continue;
    for (let p = 0; p < nPol; p++) {
      let m = 0;
      for (let t = 0; t < nTime; t++) {
        const base = (t * nBl + b) * nChan * nPol + p;
        for (let c = 0; c < nChan; c++) {
          const i = base + c * nPol;
          if (flags[i] !== 0) continue;
          const a = Math.hypot(data[2 * i], data[2 * i + 1]);
          if (Number.isFinite(a)) buf[m++] = a;
        }
      }
      if (m === 0) continue;
      const med = medianInPlace(buf, m);
      for (let k = 0; k < m; k++) buf[k] = Math.abs(buf[k] - med);
      const lim = med + nSigma * MAD_TO_SIGMA * medianInPlace(buf, m);
      for (let t = 0; t < nTime; t++) {
        const base = (t * nBl + b) * nChan * nPol + p;
        for (let c = 0; c < nChan; c++) {
          const i = base + c * nPol;
          if (flags[i] !== 0) continue;
          const a = Math.hypot(data[2 * i], data[2 * i + 1]);
          if (!(a <= lim)) { flags[i] = 1; n++; }
        }
      }
    }
  }
  return n;
}

export interface ExtendOptions {
  /** Flag a (time, channel) over all baselines, and a whole timestep, where more than this
   *  fraction is flagged (default 0.5). 1 disables the growth. */
  grow?: number;
  /** Flag all polarisations of a sample when any is flagged (default true). */
  crossPol?: boolean;
}

/**
 * Extend flags: across polarisations; then each (time, channel) whose flagged fraction over
 * cross-correlation baselines exceeds `grow` is flagged on all baselines; then each timestep
 * whose flagged fraction exceeds `grow` is flagged entirely.
 */
export function flagExtend(cube: Cube, opts: ExtendOptions = {}): number {
  const grow = opts.grow ?? 0.5;
  if (!(grow >= 0 && grow <= 1)) throw new UsageError(`extend: grow must be in [0, 1], got ${grow}`);
  const { nTime, nBl, nChan, nPol, flags, ant1, ant2 } = cube;
  let n = 0;
  // two polarisations with an even byte offset (the usual case): one 16-bit word per sample pair
  const u16 = nPol === 2 && flags.byteOffset % 2 === 0 ? new Uint16Array(flags.buffer, flags.byteOffset, flags.length >> 1) : undefined;
  if ((opts.crossPol ?? true) && u16) {
    for (let j = 0; j < u16.length; j++) {
      const v = u16[j];
      if (v === 0 || v === 0x0101) continue;
      // flags are 0/1 bytes: one of the pair is set, the other not
      u16[j] = 0x0101; n++;
    }
  } else if (opts.crossPol ?? true) {
    for (let i = 0; i < flags.length; i += nPol) {
      let any = 0;
      for (let p = 0; p < nPol; p++) any |= flags[i + p];
      if (any) for (let p = 0; p < nPol; p++) if (flags[i + p] === 0) { flags[i + p] = 1; n++; }
    }
  }
  if (grow >= 1) return n;
  let nCross = 0;
  for (let b = 0; b < nBl; b++) if (ant1[b] !== ant2[b]) nCross++;
  if (nCross === 0) return n;
  const perChan = new Float64Array(nChan);
  for (let t = 0; t < nTime; t++) {
    perChan.fill(0);
    for (let b = 0; b < nBl; b++) {
      if (ant1[b] === ant2[b]) continue;
      const base = (t * nBl + b) * nChan * nPol;
      if (u16) {
        for (let c = 0, j = base >> 1; c < nChan; c++, j++) { const v = u16[j]; if (v !== 0) perChan[c] += (v & 0xff) + (v >> 8); }
        continue;
      }
      for (let c = 0; c < nChan; c++) {
        let s = 0;
        for (let p = 0; p < nPol; p++) s += flags[base + c * nPol + p];
        perChan[c] += s;
      }
    }
    const den = nCross * nPol;
    let chanFlagged = 0;
    for (let c = 0; c < nChan; c++) {
      if (perChan[c] > grow * den) {
        chanFlagged += 1;
        for (let b = 0; b < nBl; b++) n += flagBaseline(cube, b, c, c + 1, t, t + 1);
      } else chanFlagged += perChan[c] / den;
    }
    if (chanFlagged > grow * nChan) for (let b = 0; b < nBl; b++) n += flagBaseline(cube, b, 0, nChan, t, t + 1);
  }
  return n;
}
