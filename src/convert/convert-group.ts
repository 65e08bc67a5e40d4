/**
 * Convert one group of UVH5 subband files into an MS-equivalent table:
 * validate the subbands against each other, merge them into one ascending spectral window,
 * phase to the ICRS position of the meridian at the group mid-time, recompute UVW for that fixed
 * centre in the J2000/ICRS frame, and stream time by time into a temp sibling that is renamed
 * into place at the end (nothing half-written is ever visible).
 */
import { statSync } from 'node:fs';
import { C_LIGHT, DEG, DISH_DIAMETER_M, type Site } from '../astro/constants.js';
import { ecefToGeodetic } from '../astro/geodesy.js';
import { meridianIcrs } from '../astro/frames.js';
import { uvwIcrsTimes } from '../astro/uvw.js';
import { jdToMjdSeconds } from '../astro/time.js';
import { openUvh5, type Uvh5Handle, type Uvh5Meta } from '../io/uvh5.js';
import { createMs, type MsMeta, type MsWriter } from '../io/ms.js';
import { DsaError, InputError } from '../util/errors.js';
import { aipsToStokes } from './polarization.js';

export interface ConvertInputFile {
  path: string;
  /** Subband number from the file name (DSA-110: sb00 = highest frequencies); -1 if unknown. */
  subband: number;
}

export interface ConvertOptions {
  /** Subbands a complete group has (DSA-110: 16). Missing ones are filled as flagged zeros. */
  expectedSubbands: number;
  /** Allow missing subbands (filled with flagged zeros). */
  allowIncomplete?: boolean;
  history: { command: string; version: string; args: string[] };
  fsync?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface ConvertResult {
  path: string;
  groupId: string;
  nTimes: number;
  nBaselines: number;
  nChan: number;
  nPol: number;
  startMjd: number;
  endMjd: number;
  raDeg: number;
  decDeg: number;
  /** Pointing (apparent) declination used for the meridian, degrees. */
  pointingDecDeg: number;
  phaseMode: 'meridian' | 'zenith' | 'catalog';
  visBytes: number;
  missingSubbands: number[];
  timings: { open: number; write: number; commit: number };
}

export class ConvertAborted extends Error {
  constructor() {
    super('conversion abandoned (signal)');
    this.name = 'ConvertAborted';
  }
}

interface Part {
  file: ConvertInputFile;
  h: Uvh5Handle;
  /** Output channel of this file's channel k (channels reversed when stored descending). */
  chanOut: Int32Array;
  /** For each (t, b): the file's blt row; null when the layout is time-major in baseline order. */
  rowIndex: Int32Array | null;
}

/** Test hook: pause after each time so a fault test can kill the process mid-write. */
const SLOW_WRITE_MS = Number(process.env.DSA110_TEST_SLOW_WRITE_MS ?? 0);

const near = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

/** Site of the file's telescope. */
function siteOf(m: Uvh5Meta): Site {
  if (m.telescopeLatLonAlt) return { latRad: m.telescopeLatLonAlt[0], lonRad: m.telescopeLatLonAlt[1], heightM: m.telescopeLatLonAlt[2] };
  const [lat, lon, h] = ecefToGeodetic(...m.telescopeLocation);
  return { latRad: lat, lonRad: lon, heightM: h };
}

function sameArray(a: ArrayLike<number>, b: ArrayLike<number>, tol = 0): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > tol) return false;
  return true;
}

/**
 * Map each (time, baseline) of the reference layout to the file's blt row. Returns null for the
 * common DSA-110 case (time-major, same baseline order every time) so reads are contiguous.
 */
function layoutOf(m: Uvh5Meta, times: Float64Array, a1: Int32Array, a2: Int32Array, subject: string): Int32Array | null {
  const nBl = a1.length;
  const nT = times.length;
  if (m.nBlts !== nBl * nT) {
    throw new InputError(subject, `baseline-time axis is not rectangular (Nblts ${m.nBlts} ≠ Nbls ${nBl} × Ntimes ${nT}; baseline-dependent averaging is not supported)`);
  }
  let timeMajor = true;
  for (let t = 0; t < nT && timeMajor; t++) {
    for (let b = 0; b < nBl; b++) {
      const r = t * nBl + b;
      if (m.ant1[r] !== a1[b] || m.ant2[r] !== a2[b] || !near(m.times[r]!, times[t]!, 1e-8)) { timeMajor = false; break; }
    }
  }
  if (timeMajor) return null;
  const key = (x: number, y: number) => x * 100000 + y;
  const blIndex = new Map<number, number>();
  for (let b = 0; b < nBl; b++) blIndex.set(key(a1[b]!, a2[b]!), b);
  const rows = new Int32Array(nBl * nT).fill(-1);
  for (let r = 0; r < m.nBlts; r++) {
    const b = blIndex.get(key(m.ant1[r]!, m.ant2[r]!));
    let t = -1;
    // times are few: linear search with tolerance
    for (let k = 0; k < nT; k++) if (near(m.times[r]!, times[k]!, 1e-8)) { t = k; break; }
    if (b === undefined || t < 0 || rows[t * nBl + b] !== -1) {
      throw new InputError(subject, `baseline-time layout is not a full grid of ${nBl} baselines × ${nT} times`);
    }
    rows[t * nBl + b] = r;
  }
  return rows;
}

export async function convertGroup(groupId: string, inputs: readonly ConvertInputFile[], outPath: string, opts: ConvertOptions): Promise<ConvertResult> {
  const t0 = performance.now();
  if (inputs.length === 0) throw new DsaError(`group ${groupId}: no input files`);
  const parts: Part[] = [];
  let writer: MsWriter | undefined;
  try {
    for (const f of inputs) {
      let size: number;
      try {
        size = statSync(f.path).size;
      } catch (e) {
        throw new InputError(f.path, `cannot read: ${(e as Error).message}`);
      }
      if (size === 0) throw new InputError(f.path, 'file is empty (zero length)');
      parts.push({ file: f, h: await openUvh5(f.path), chanOut: new Int32Array(0), rowIndex: null });
    }
    const ref = parts[0]!.h.meta;
    const refPath = parts[0]!.file.path;
    const times = ref.uniqueTimes;
    const nT = times.length;
    // Baselines in the order of the first time of the reference file.
    const first = Array.from({ length: ref.nBlts }, (_, r) => r).filter((r) => near(ref.times[r]!, times[0]!, 1e-8));
    const a1n = Int32Array.from(first, (r) => ref.ant1[r]!);
    const a2n = Int32Array.from(first, (r) => ref.ant2[r]!);
    const nBl = a1n.length;
    const nPol = ref.nPols;
    const decApp = ref.phaseCenterDecApp;

    // Validation: every subband must describe the same observation.
    for (const p of parts) {
      const m = p.h.meta;
      const s = p.file.path;
      if (!sameArray(m.uniqueTimes, times, 1e-8)) throw new InputError(s, `time array differs from ${refPath} (${m.uniqueTimes.length} vs ${nT} integrations)`);
      if (!sameArray(m.polarizations, ref.polarizations)) throw new InputError(s, `polarizations [${[...m.polarizations]}] differ from ${refPath} [${[...ref.polarizations]}]`);
      if (!sameArray(m.antennaNumbers, ref.antennaNumbers) || !sameArray(m.antennaPositions, ref.antennaPositions, 1e-3)) throw new InputError(s, `antenna table differs from ${refPath}`);
      if (m.nBls !== ref.nBls) throw new InputError(s, `has ${m.nBls} baselines, ${refPath} has ${ref.nBls}`);
      if ((m.phaseCenterDecApp === undefined) !== (decApp === undefined) || (decApp !== undefined && !near(m.phaseCenterDecApp!, decApp, 1e-7))) {
        throw new InputError(s, `pointing declination differs from ${refPath}`);
      }
      if (m.phaseType !== ref.phaseType) throw new InputError(s, `phase type ${m.phaseType} differs from ${refPath} (${ref.phaseType})`);
      if (m.phaseCenter && ref.phaseCenter && (!near(m.phaseCenter.ra, ref.phaseCenter.ra, 1e-9) || !near(m.phaseCenter.dec, ref.phaseCenter.dec, 1e-9))) {
        throw new InputError(s, `phase centre differs from ${refPath}`);
      }
      for (let k = 0; k < m.nFreqs; k++) if (!(m.freqs[k]! > 0) || !Number.isFinite(m.freqs[k]!)) throw new InputError(s, `invalid frequency at channel ${k}`);
      p.rowIndex = layoutOf(m, times, a1n, a2n, s);
    }
    if (ref.phaseType === 'driftscan') throw new InputError(refPath, "phase type 'driftscan' (fixed az/el) is not supported");

    // Frequencies: order subbands by their lowest frequency, check they tile without overlap.
    type Band = { lo: number; hi: number; width: number; n: number; part?: Part; subband: number };
    const bands: Band[] = parts.map((p) => {
      const f = p.h.meta.freqs;
      let lo = Infinity, hi = -Infinity;
      for (const x of f) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
      return { lo, hi, width: Math.abs(p.h.meta.channelWidth[0]!), n: f.length, part: p, subband: p.file.subband };
    });
    const missing: number[] = [];
    if (opts.expectedSubbands > 1) {
      const present = new Set(parts.map((p) => p.file.subband));
      for (let sb = 0; sb < opts.expectedSubbands; sb++) if (!present.has(sb)) missing.push(sb);
      if (missing.length && !opts.allowIncomplete) {
        throw new DsaError(`group ${groupId} is incomplete: missing subband(s) ${missing.map((m) => 'sb' + String(m).padStart(2, '0')).join(', ')}`);
      }
      if (missing.length) {
        // Frequencies of the missing subbands follow the DSA-110 layout: equal-width subbands,
        // higher subband number = lower frequency (the sign is taken from the present ones).
        const known = bands.filter((b) => b.subband >= 0).sort((a, b) => a.subband - b.subband);
        const b0 = known[0]!;
        const span = b0.n * b0.width;
        let dir = -1;
        if (known.length > 1) dir = Math.sign((known[1]!.lo - b0.lo) / (known[1]!.subband - b0.subband));
        for (const sb of missing) bands.push({ lo: b0.lo + dir * (sb - b0.subband) * span, hi: b0.hi + dir * (sb - b0.subband) * span, width: b0.width, n: b0.n, subband: sb });
      }
    }
    bands.sort((a, b) => a.lo - b.lo);
    for (let i = 1; i < bands.length; i++) {
      const a = bands[i - 1]!, b = bands[i]!;
      if (b.lo - b.width / 2 < a.hi + a.width / 2 - 1e-3 * a.width) {
        const who = b.part?.file.path ?? a.part?.file.path ?? groupId;
        throw new InputError(who, `frequencies ${(b.lo / 1e6).toFixed(4)}–${(b.hi / 1e6).toFixed(4)} MHz overlap ${(a.lo / 1e6).toFixed(4)}–${(a.hi / 1e6).toFixed(4)} MHz of another subband`);
      }
    }
    const nChan = bands.reduce((s, b) => s + b.n, 0);
    const freq = new Float64Array(nChan);
    const chanWidth = new Float64Array(nChan);
    let c0 = 0;
    for (const b of bands) {
      if (b.part) {
        const m = b.part.h.meta;
        const asc = Array.from(m.freqs.keys()).sort((i, j) => m.freqs[i]! - m.freqs[j]!);
        b.part.chanOut = new Int32Array(m.nFreqs);
        asc.forEach((k, j) => { b.part!.chanOut[k] = c0 + j; freq[c0 + j] = m.freqs[k]!; chanWidth[c0 + j] = Math.abs(m.channelWidth[k]!); });
      } else {
        for (let j = 0; j < b.n; j++) { freq[c0 + j] = b.lo + j * b.width; chanWidth[c0 + j] = b.width; }
      }
      c0 += b.n;
    }

    // Antennas: MS ANTENNA rows in file order; ANTENNA1/2 are indices into it.
    const nAnt = ref.antennaNumbers.length;
    const numToIdx = new Map<number, number>();
    ref.antennaNumbers.forEach((n, i) => numToIdx.set(n, i));
    const antEcef = new Float64Array(3 * nAnt);
    for (let i = 0; i < nAnt; i++) for (let k = 0; k < 3; k++) antEcef[3 * i + k] = ref.telescopeLocation[k]! + ref.antennaPositions[3 * i + k]!;
    const a1 = Int32Array.from(a1n, (n) => { const i = numToIdx.get(n); if (i === undefined) throw new InputError(refPath, `baseline antenna ${n} is not in the antenna table`); return i; });
    const a2 = Int32Array.from(a2n, (n) => { const i = numToIdx.get(n); if (i === undefined) throw new InputError(refPath, `baseline antenna ${n} is not in the antenna table`); return i; });

    // Phase centre.
    const site = siteOf(ref);
    const jdMid = (times[0]! + times[nT - 1]!) / 2;
    let phaseMode: ConvertResult['phaseMode'];
    let pointDec: number;
    let ra0: number, dec0: number;
    if (ref.phaseType === 'phased' || ref.phaseType === 'sidereal') {
      if (!ref.phaseCenter) throw new InputError(refPath, 'phased data without a phase centre');
      phaseMode = 'catalog';
      ra0 = ref.phaseCenter.ra;
      dec0 = ref.phaseCenter.dec;
      pointDec = dec0;
    } else {
      phaseMode = decApp !== undefined ? 'meridian' : 'zenith';
      pointDec = decApp ?? site.latRad;
      [ra0, dec0] = meridianIcrs(jdMid, pointDec, site);
    }
    const meridianRa = new Float64Array(nT);
    const meridianDec = new Float64Array(nT);
    for (let t = 0; t < nT; t++) {
      const [r, d] = phaseMode === 'catalog' ? [ra0, dec0] : meridianIcrs(times[t]!, pointDec, site);
      meridianRa[t] = r;
      meridianDec[t] = d;
    }
    const uvwNew = new Float64Array(3 * nBl * nT);
    uvwIcrsTimes(uvwNew, antEcef, a1, a2, times, ra0, dec0, { site });

    const intTime = new Float64Array(nT);
    const msTime = new Float64Array(nT);
    for (let t = 0; t < nT; t++) {
      msTime[t] = jdToMjdSeconds(times[t]!);
      const r = parts[0]!.rowIndex ? parts[0]!.rowIndex![t * nBl] : t * nBl;
      intTime[t] = ref.integrationTime[r!]!;
    }
    const isDsa = /OVRO_MMA|DSA/i.test(ref.telescopeName) && (ref.instrument === 'DSA' || decApp !== undefined);
    const meta: MsMeta = {
      groupId,
      nTimes: nT,
      nBaselines: nBl,
      nChan,
      nPol,
      time: msTime,
      interval: intTime,
      ant1: a1,
      ant2: a2,
      freq,
      chanWidth,
      corrType: aipsToStokes(ref.polarizations, refPath),
      antennaNames: ref.antennaNames,
      antennaPositions: antEcef,
      dishDiameter: ref.antennaDiameters ?? new Float64Array(nAnt).fill(isDsa ? DISH_DIAMETER_M : 0),
      phaseDir: [ra0, dec0],
      meridianRa,
      meridianDec,
      telescope: isDsa ? 'DSA_110' : ref.telescopeName,
      attrs: {
        source_files: inputs.map((f) => f.path),
        missing_subbands: missing,
        pointing_dec_app_deg: pointDec / DEG,
        phase_mode: phaseMode,
        uvh5_phase_type: ref.phaseType,
        uvh5_telescope_name: ref.telescopeName,
      },
      fieldName: groupId,
    };
    const tOpen = performance.now();

    writer = await createMs(outPath, meta, { fsync: opts.fsync ?? true, createdBy: `dsa110 ${opts.history.version}` });
    const per = nChan * nPol;
    // Two sets of output buffers: time t is written (libuv threads) while t+1 is computed.
    const bufs = [0, 1].map(() => ({ data: new Float32Array(2 * nBl * per), flag: new Uint8Array(nBl * per), weight: new Float32Array(nBl * per) }));
    const pending: (Promise<void> | undefined)[] = [undefined, undefined];
    // Scratch for one file's rows of one time.
    const maxF = Math.max(...parts.map((p) => p.h.meta.nFreqs));
    const sVis = new Float32Array(2 * nBl * maxF * nPol);
    const sFlag = new Uint8Array(nBl * maxF * nPol);
    const sNs = new Float32Array(nBl * maxF * nPol);
    // Whole-file buffers for files whose layout is not time-major (small pyuvdata files only).
    const whole = new Map<Part, { vis: Float32Array; flags: Uint8Array; nsamples: Float32Array }>();
    const twoPiOverC = (2 * Math.PI) / C_LIGHT;
    const missingPresent = missing.length > 0;
    // Uniform channel spacing inside a file lets the phase advance by a constant rotation per
    // channel (2 sin/cos per baseline and subband instead of one per channel).
    const stepHz = parts.map((p) => {
      const f = p.h.meta.freqs;
      if (f.length < 2) return NaN;
      const df = f[1]! - f[0]!;
      for (let c = 2; c < f.length; c++) if (Math.abs(f[c]! - f[c - 1]! - df) > 1e-6 * Math.abs(df)) return NaN;
      return df;
    });

    for (let t = 0; t < nT; t++) {
      if (opts.signal?.aborted) throw new ConvertAborted();
      const slot = t & 1;
      if (pending[slot]) await pending[slot];
      const { data, flag, weight } = bufs[slot]!;
      if (missingPresent) { data.fill(0); flag.fill(1); weight.fill(0); }
      for (let pi = 0; pi < parts.length; pi++) {
        const p = parts[pi]!;
        const m = p.h.meta;
        const nF = m.nFreqs;
        const fper = nF * nPol;
        let vis: Float32Array, fl: Uint8Array, ns: Float32Array;
        let rowOf: (b: number) => number;
        if (p.rowIndex === null) {
          p.h.readBltsInto(t * nBl, (t + 1) * nBl, { vis: sVis, flags: sFlag, nsamples: sNs });
          vis = sVis; fl = sFlag; ns = sNs;
          rowOf = (b) => b;
        } else {
          let w = whole.get(p);
          if (!w) {
            if (m.nBlts * fper * 8 > 1.5e9) throw new InputError(p.file.path, 'baseline-time order is not time-major and the file is too large to reorder in memory');
            w = p.h.readBlts(0, m.nBlts);
            whole.set(p, w);
          }
          vis = w.vis; fl = w.flags; ns = w.nsamples;
          const ri = p.rowIndex;
          rowOf = (b) => ri[t * nBl + b]!;
        }
        const chanOut = p.chanOut;
        const freqs = m.freqs;
        const df = stepHz[pi]!;
        const uniform = Number.isFinite(df);
        for (let b = 0; b < nBl; b++) {
          const r = rowOf(b);
          const fileRow = p.rowIndex === null ? t * nBl + b : r;
          const wOld = m.uvw[3 * fileRow + 2]!;
          const wNew = uvwNew[3 * (t * nBl + b) + 2]!;
          const k = twoPiOverC * (wOld - wNew); // phase per Hz
          const inBase = r * fper;
          const outBase = b * per;
          let cr = Math.cos(k * freqs[0]!), ci = Math.sin(k * freqs[0]!);
          const sr = uniform ? Math.cos(k * df) : 0, si = uniform ? Math.sin(k * df) : 0;
          for (let c = 0; c < nF; c++) {
            if (c > 0) {
              if (uniform) { const nr = cr * sr - ci * si; ci = cr * si + ci * sr; cr = nr; }
              else { const ph = k * freqs[c]!; cr = Math.cos(ph); ci = Math.sin(ph); }
            }
            const oc = outBase + chanOut[c]! * nPol;
            const ic = inBase + c * nPol;
            for (let q = 0; q < nPol; q++) {
              const vr = vis[2 * (ic + q)]!, vi = vis[2 * (ic + q) + 1]!;
              data[2 * (oc + q)] = vr * cr - vi * ci;
              data[2 * (oc + q) + 1] = vr * ci + vi * cr;
              flag[oc + q] = fl[ic + q]!;
              weight[oc + q] = ns[ic + q]!;
            }
          }
        }
      }
      pending[slot] = writer.writeTime(t, { DATA: data, FLAG: flag, WEIGHT_SPECTRUM: weight, UVW: uvwNew.subarray(3 * nBl * t, 3 * nBl * (t + 1)) });
      // Surface write errors promptly rather than at the end.
      pending[slot]!.catch(() => undefined);
      opts.onProgress?.(t + 1, nT);
      if (SLOW_WRITE_MS > 0) { await pending[slot]; await new Promise((r) => setTimeout(r, SLOW_WRITE_MS)); }
    }
    await Promise.all(pending);
    writer.addHistory(opts.history);
    const tWrite = performance.now();
    if (opts.signal?.aborted) throw new ConvertAborted();
    await writer.commit();
    writer = undefined;
    const tEnd = performance.now();
    const halfInt = intTime[0]! / 2 / 86400;
    return {
      path: outPath,
      groupId,
      nTimes: nT,
      nBaselines: nBl,
      nChan,
      nPol,
      startMjd: msTime[0]! / 86400 - halfInt,
      endMjd: msTime[nT - 1]! / 86400 + halfInt,
      raDeg: ra0 / DEG,
      decDeg: dec0 / DEG,
      pointingDecDeg: pointDec / DEG,
      phaseMode,
      visBytes: nT * nBl * per * 8,
      missingSubbands: missing,
      timings: { open: (tOpen - t0) / 1000, write: (tWrite - tOpen) / 1000, commit: (tEnd - tWrite) / 1000 },
    };
  } finally {
    if (writer) await writer.abort().catch(() => undefined);
    for (const p of parts) p.h.close();
  }
}
