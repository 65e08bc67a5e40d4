/**
 * Glue between the MS-equivalent table and the calibration library:
 *  - reading time chunks of an MS into VisChunks with reusable (optionally shared) buffers, so a
 *    command streams a group in bounded memory and worker threads can share the arrays;
 *  - converting the solvers' in-memory tables (DelayTable, BandpassTable, GainTable; antenna
 *    indices) to and from the caltable files (KCalTable, BpCalTable, GpCalTable; antenna names),
 *    mapping antennas by name so a table can be applied to an MS with a different antenna list.
 */
import type { MsMeta, MsTable } from '../io/ms.js';
import type { BpCalTable, Caltable, GpCalTable, KCalTable } from '../io/caltables.js';
import { DsaError, InputError } from '../util/errors.js';
import type { CalQa } from './qa.js';
import type { BandpassTable, DelayTable, GainMode, GainTable, SolInt, VisChunk } from './types.js';

/**
 * The antennas that appear in the MS's cross-correlations, renumbered 0..n−1 (the ANTENNA
 * subtable lists every station, e.g. 117, while a group has data from ~96): the solvers and QA
 * then see only antennas with baselines, and the caltables list only those by name.
 */
export interface UsedAntennas {
  nAnt: number;
  /** Compact index → MS antenna index. */
  msIndex: Int32Array;
  /** MS antenna index → compact index (−1: no baselines). */
  compact: Int32Array;
  /** Per-baseline compact antenna indices. */
  ant1: Int32Array;
  ant2: Int32Array;
  names: string[];
  /** ITRF positions [ant, xyz] of the used antennas. */
  positions: Float64Array;
}

export function usedAntennas(meta: MsMeta): UsedAntennas {
  const nMs = meta.antennaNames.length;
  const used = new Uint8Array(nMs);
  for (let b = 0; b < meta.nBaselines; b++) {
    if (meta.ant1[b] === meta.ant2[b]) continue;
    used[meta.ant1[b]] = 1;
    used[meta.ant2[b]] = 1;
  }
  const compact = new Int32Array(nMs).fill(-1);
  const idx: number[] = [];
  for (let a = 0; a < nMs; a++) if (used[a]) { compact[a] = idx.length; idx.push(a); }
  const msIndex = Int32Array.from(idx);
  const ant1 = new Int32Array(meta.nBaselines), ant2 = new Int32Array(meta.nBaselines);
  for (let b = 0; b < meta.nBaselines; b++) {
    // Autocorrelations of antennas without cross-correlations keep index 0: solvers skip autos.
    ant1[b] = Math.max(0, compact[meta.ant1[b]]);
    ant2[b] = Math.max(0, compact[meta.ant2[b]]);
  }
  const positions = new Float64Array(3 * idx.length);
  idx.forEach((a, k) => positions.set(meta.antennaPositions.subarray(3 * a, 3 * a + 3), 3 * k));
  return { nAnt: idx.length, msIndex, compact, ant1, ant2, names: idx.map((a) => meta.antennaNames[a]), positions };
}

/** Per-time pointing (ICRS): FIELD/MERIDIAN_RA/DEC when present, else the fixed phase centre. */
export function msPointing(meta: MsMeta): { ra: Float64Array; dec: Float64Array } {
  if (meta.meridianRa && meta.meridianDec) return { ra: meta.meridianRa, dec: meta.meridianDec };
  return { ra: new Float64Array(meta.nTimes).fill(meta.phaseDir[0]), dec: new Float64Array(meta.nTimes).fill(meta.phaseDir[1]) };
}

/** Start, mid and end of the MS, MJD days (integration edges). */
export function msTimeRangeMjd(meta: MsMeta): { start: number; mid: number; end: number } {
  const n = meta.nTimes;
  const start = (meta.time[0] - 0.5 * (meta.interval[0] ?? 0)) / 86400;
  const end = (meta.time[n - 1] + 0.5 * (meta.interval[n - 1] ?? 0)) / 86400;
  return { start, mid: 0.5 * (start + end), end };
}

/** Apparent pointing declination (rad) from the root attributes, else the phase-centre dec. */
export function msPointingDecApp(meta: MsMeta): number {
  const d = meta.attrs.pointing_dec_app_deg;
  return typeof d === 'number' && Number.isFinite(d) ? (d * Math.PI) / 180 : meta.phaseDir[1];
}

/** Integrations per chunk so that one chunk's columns stay within `budgetBytes`. */
export function chunkTimes(meta: MsMeta, budgetBytes: number, withModel: boolean | number): number {
  const n = meta.nBaselines * meta.nChan * meta.nPol;
  // DATA 8 + FLAG 1 + WEIGHT 4 (+ MODEL or CORRECTED 8 each) bytes per visibility, UVW negligible.
  const perTime = n * (13 + 8 * Number(withModel)) + meta.nBaselines * 24;
  return Math.max(1, Math.min(meta.nTimes, Math.floor(budgetBytes / perTime)));
}

export interface ChunkBuffers {
  maxTimes: number;
  data: Float32Array;
  flag: Uint8Array;
  weight: Float32Array;
  model?: Float32Array;
  uvw?: Float64Array;
  /** CORRECTED_DATA (to undo an earlier apply's weight scaling). */
  corrected?: Float32Array;
}

/** Buffers for up to maxTimes integrations; in SharedArrayBuffers when `shared` (worker threads). */
export function allocChunkBuffers(meta: MsMeta, maxTimes: number, o: { model?: boolean; uvw?: boolean; corrected?: boolean; shared?: boolean } = {}): ChunkBuffers {
  const n = maxTimes * meta.nBaselines * meta.nChan * meta.nPol;
  const mk = <T>(Ctor: new (b: ArrayBufferLike) => T, bytes: number): T =>
    new Ctor(o.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  return {
    maxTimes,
    data: mk(Float32Array, 8 * n),
    flag: mk(Uint8Array, n),
    weight: mk(Float32Array, 4 * n),
    model: o.model ? mk(Float32Array, 8 * n) : undefined,
    uvw: o.uvw ? mk(Float64Array, 24 * maxTimes * meta.nBaselines) : undefined,
    corrected: o.corrected ? mk(Float32Array, 8 * n) : undefined,
  };
}

/**
 * Read integrations [t0, t1) into the buffers (views of the right length) and return them as a
 * VisChunk. MODEL_DATA is read only when `readModel` (else `model` is the buffer, for the caller
 * to fill). `dataColumn` selects DATA (default) or CORRECTED_DATA.
 */
export async function readChunk(
  ms: MsTable, t0: number, t1: number, bufs: ChunkBuffers,
  o: { readModel?: boolean; readUvw?: boolean; readCorrected?: boolean; dataColumn?: 'DATA' | 'CORRECTED_DATA'; ants?: UsedAntennas } = {},
): Promise<VisChunk & { uvw?: Float64Array; corrected?: Float32Array }> {
  const m = ms.meta;
  const nT = t1 - t0;
  if (nT > bufs.maxTimes) throw new DsaError(`chunk of ${nT} integrations exceeds the buffer (${bufs.maxTimes})`);
  const n = nT * m.nBaselines * m.nChan * m.nPol;
  const data = bufs.data.subarray(0, 2 * n);
  const flag = bufs.flag.subarray(0, n);
  const weight = bufs.weight.subarray(0, n);
  const model = bufs.model ? bufs.model.subarray(0, 2 * n) : undefined;
  const uvw = bufs.uvw ? bufs.uvw.subarray(0, 3 * nT * m.nBaselines) : undefined;
  const corrected = bufs.corrected ? bufs.corrected.subarray(0, 2 * n) : undefined;
  const jobs: Promise<unknown>[] = [
    ms.readTimes(o.dataColumn ?? 'DATA', t0, t1, data),
    ms.readTimes('FLAG', t0, t1, flag),
    ms.readTimes('WEIGHT_SPECTRUM', t0, t1, weight),
  ];
  if (o.readModel) {
    if (!model) throw new DsaError('readChunk: no MODEL_DATA buffer');
    if (!ms.has('MODEL_DATA')) throw new InputError(ms.path, 'no MODEL_DATA column');
    jobs.push(ms.readTimes('MODEL_DATA', t0, t1, model));
  }
  if (o.readCorrected) {
    if (!corrected) throw new DsaError('readChunk: no CORRECTED_DATA buffer');
    jobs.push(ms.readTimes('CORRECTED_DATA', t0, t1, corrected));
  }
  if (o.readUvw) {
    if (!uvw) throw new DsaError('readChunk: no UVW buffer');
    jobs.push(ms.readTimes('UVW', t0, t1, uvw));
  }
  await Promise.all(jobs);
  return {
    nTime: nT, nBl: m.nBaselines, nChan: m.nChan, nPol: m.nPol,
    nAnt: o.ants ? o.ants.nAnt : m.antennaNames.length,
    ant1: o.ants ? o.ants.ant1 : m.ant1, ant2: o.ants ? o.ants.ant2 : m.ant2, freqHz: m.freq, timeMjdSec: m.time.subarray(t0, t1),
    data, flag, weight, model, uvw, corrected,
  };
}

// ------------------------------------------------------------------ library ↔ caltable files

export interface CaltableInfo {
  sourceMs: string;
  calibrator: string;
  validFromMjd: number;
  validToMjd: number;
  solint: string;
  qa: CalQa;
  /** Extra root attributes (e.g. transit time, gain mode). */
  attrs?: Record<string, unknown>;
}

/** Numeric QA figures for the caltable attributes / registry. */
export function qaFigures(qa: CalQa): Record<string, number> {
  const out: Record<string, number> = {
    flagged_fraction: qa.flaggedFraction,
    median_snr: Number.isFinite(qa.medianSnr) ? qa.medianSnr : -1,
    good_antennas: qa.goodAntennas,
    n_solutions: qa.nSolutions,
    passes: qa.passes ? 1 : 0,
  };
  if (qa.medianPhaseScatterDeg !== undefined && Number.isFinite(qa.medianPhaseScatterDeg)) out.phase_scatter_deg = qa.medianPhaseScatterDeg;
  return out;
}

/** Axes of a caltable: antenna names (in table index order) and Stokes codes. */
export interface TableAxes {
  antennaNames: string[];
  corrType: Int32Array;
}

function common(meta: TableAxes, refant: number, info: CaltableInfo) {
  return {
    refant: meta.antennaNames[refant],
    sourceMs: info.sourceMs,
    calibrator: info.calibrator,
    validFromMjd: info.validFromMjd,
    validToMjd: info.validToMjd,
    solint: info.solint,
    qa: qaFigures(info.qa),
    antennaNames: meta.antennaNames.slice(),
    corrType: Int32Array.from(meta.corrType),
    attrs: { ...(info.attrs ?? {}), qa_reasons: info.qa.reasons },
  };
}

export function delayToFile(t: DelayTable, meta: TableAxes, info: CaltableInfo): KCalTable {
  return { ...common(meta, t.refant, info), type: 'kcal', delayNs: t.delayNs, flags: t.flag, snr: t.snr, attrs: { ...common(meta, t.refant, info).attrs, time_mjd_sec: t.timeMjdSec } };
}

export function bandpassToFile(t: BandpassTable, meta: TableAxes, info: CaltableInfo): BpCalTable {
  return { ...common(meta, t.refant, info), type: 'bpcal', freq: t.freqHz, gains: t.gain, flags: t.flag, snr: t.snr, attrs: { ...common(meta, t.refant, info).attrs, time_mjd_sec: t.timeMjdSec } };
}

export function gainToFile(t: GainTable, meta: TableAxes, info: CaltableInfo): GpCalTable {
  return {
    ...common(meta, t.refant, info), type: 'gpcal', time: t.timeMjdSec, gains: t.gain, flags: t.flag, snr: t.snr,
    attrs: { ...common(meta, t.refant, info).attrs, gain_mode: t.mode },
  };
}

/**
 * Map the table's antennas and polarisations onto the MS's: index per MS antenna (−1 = not in
 * the table → solutions flagged) and per MS pol. Throws when no antenna or a pol is missing.
 */
function mapAxes(t: Caltable, meta: MsMeta, where: string): { ant: Int32Array; pol: Int32Array } {
  const byName = new Map<string, number>();
  t.antennaNames.forEach((n, i) => byName.set(n, i));
  const ant = new Int32Array(meta.antennaNames.length);
  let found = 0;
  meta.antennaNames.forEach((n, i) => {
    const k = byName.get(n);
    ant[i] = k ?? -1;
    if (k !== undefined) found++;
  });
  if (found === 0) throw new InputError(where, 'calibration table shares no antenna names with the measurement set');
  const pol = new Int32Array(meta.nPol);
  for (let p = 0; p < meta.nPol; p++) {
    const k = Array.prototype.indexOf.call(t.corrType, meta.corrType[p]) as number;
    if (k < 0) throw new InputError(where, `calibration table has no polarization with Stokes code ${meta.corrType[p]}`);
    pol[p] = k;
  }
  return { ant, pol };
}

function refantIndex(t: Caltable, meta: MsMeta): number {
  const i = meta.antennaNames.indexOf(t.refant);
  return i >= 0 ? i : 0;
}

/** A caltable file's solutions as the library table, on the MS's antenna and pol axes. */
export function fileToLibrary(t: Caltable, meta: MsMeta, where: string): DelayTable | BandpassTable | GainTable {
  const { ant, pol } = mapAxes(t, meta, where);
  const nAnt = meta.antennaNames.length;
  const nPol = meta.nPol;
  const tPol = t.corrType.length;
  const refant = refantIndex(t, meta);
  if (t.type === 'kcal') {
    const delayNs = new Float64Array(nAnt * nPol);
    const flag = new Uint8Array(nAnt * nPol).fill(1);
    const snr = new Float32Array(nAnt * nPol);
    for (let a = 0; a < nAnt; a++) {
      if (ant[a] < 0) continue;
      for (let p = 0; p < nPol; p++) {
        const k = ant[a] * tPol + pol[p];
        delayNs[a * nPol + p] = t.delayNs[k];
        flag[a * nPol + p] = t.flags[k] ? 1 : 0;
        snr[a * nPol + p] = t.snr ? t.snr[k] : 0;
      }
    }
    return { type: 'K', nAnt, nPol, delayNs, flag, snr, refant, timeMjdSec: Number(t.attrs?.time_mjd_sec ?? NaN) };
  }
  if (t.type === 'bpcal') {
    const nChan = t.freq.length;
    const gain = new Float32Array(2 * nAnt * nChan * nPol);
    const flag = new Uint8Array(nAnt * nChan * nPol).fill(1);
    const snr = new Float32Array(nAnt * nChan * nPol);
    for (let a = 0; a < nAnt; a++) {
      for (let c = 0; c < nChan; c++) {
        for (let p = 0; p < nPol; p++) {
          const o = (a * nChan + c) * nPol + p;
          if (ant[a] < 0) { gain[2 * o] = 1; continue; }
          const k = (ant[a] * nChan + c) * tPol + pol[p];
          gain[2 * o] = t.gains[2 * k];
          gain[2 * o + 1] = t.gains[2 * k + 1];
          flag[o] = t.flags[k] ? 1 : 0;
          snr[o] = t.snr[k];
        }
      }
    }
    return { type: 'BP', nAnt, nChan, nPol, freqHz: t.freq, gain, flag, snr, refant, timeMjdSec: Number(t.attrs?.time_mjd_sec ?? NaN) };
  }
  const nTime = t.time.length;
  if (nTime < 1) throw new InputError(where, 'gain table has no solutions');
  for (let s = 1; s < nTime; s++) if (!(t.time[s] > t.time[s - 1])) throw new InputError(where, 'gain table times are not ascending');
  const gain = new Float32Array(2 * nTime * nAnt * nPol);
  const flag = new Uint8Array(nTime * nAnt * nPol).fill(1);
  const snr = new Float32Array(nTime * nAnt * nPol);
  for (let s = 0; s < nTime; s++) {
    for (let a = 0; a < nAnt; a++) {
      for (let p = 0; p < nPol; p++) {
        const o = (s * nAnt + a) * nPol + p;
        if (ant[a] < 0) { gain[2 * o] = 1; continue; }
        const k = (s * t.antennaNames.length + ant[a]) * tPol + pol[p];
        gain[2 * o] = t.gains[2 * k];
        gain[2 * o + 1] = t.gains[2 * k + 1];
        flag[o] = t.flags[k] ? 1 : 0;
        snr[o] = t.snr[k];
      }
    }
  }
  const mode = (t.attrs?.gain_mode === 'p' ? 'p' : 'ap') as GainMode;
  const solint: SolInt = t.solint === 'int' ? 'int' : Number.isFinite(Number.parseFloat(t.solint)) ? Number.parseFloat(t.solint) : 'inf';
  return { type: 'G', nTime, nAnt, nPol, timeMjdSec: t.time, gain, flag, snr, refant, mode, solint };
}

/**
 * Solutions on a compact antenna axis (`names`, e.g. calibrateMs's used antennas) re-indexed to
 * the MS's antenna axis, as apply needs them (antennas without solutions flagged): the same
 * name mapping as for tables read from disk.
 */
export function toMsAxes(
  t: DelayTable | BandpassTable | GainTable, names: string[], meta: MsMeta,
): DelayTable | BandpassTable | GainTable {
  const axes: TableAxes = { antennaNames: names, corrType: meta.corrType };
  const info: CaltableInfo = {
    sourceMs: '', calibrator: '', validFromMjd: 0, validToMjd: 0, solint: t.type === 'G' ? String(t.solint) : 'inf',
    qa: { type: t.type, nAnt: t.nAnt, nSolutions: 0, flaggedFraction: 0, medianSnr: NaN, goodAntennas: 0, passes: true, reasons: [] },
  };
  const file = t.type === 'K' ? delayToFile(t, axes, info) : t.type === 'BP' ? bandpassToFile(t, axes, info) : gainToFile(t, axes, info);
  return fileToLibrary(file, meta, '(in memory)');
}
