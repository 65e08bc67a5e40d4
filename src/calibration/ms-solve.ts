/**
 * Calibrator solve streamed over an MS: one pass writes MODEL_DATA (point sources with the
 * primary beam per integration) and accumulates per-channel baseline sums without any prior
 * calibration; K, BP and (solint inf) G are then all derived from those sums, because K and BP
 * are constant in time: the sums with a prior factor F = P_i conj(P_j) are exactly
 *   xy' = conj(F)·xy,  mm' = |F|²·mm,  vv' = vv,
 * and the channel-averaged G sums are their sum over channels. Only a G with a finite solution
 * interval needs a second pass (channel-averaged sums per interval, reading MODEL_DATA back).
 * Reference-antenna statistics come from the sums' counts (no separate pass over FLAG).
 *
 * Work split (ms-jobs.ts on the ms-pool.ts workers): model + sums by baseline range per time
 * chunk, double-buffered so that reading and computing chunk k+1 overlap writing chunk k; the
 * bandpass cells and the G sums by channel range. K (Gauss–Newton over all baselines) runs in
 * the calling thread.
 * Memory: two time chunks of columns (budget `chunkBytes` for both) plus the sums and their
 * channel-major copy (2 × 40 B per baseline·channel·pol: 0.6 GB for a full DSA-110 group). */
import { replaceColumn, type HistoryInput, type MsTable } from '../io/ms.js';
import { DsaError } from '../util/errors.js';
import { log } from '../util/log.js';
import { JobPool, splitRange, threadsFor } from './ms-pool.js';
import { priorCalwt } from './ms-apply.js';
import { ChunkPrefetcher } from './prefetch.js';
import { restoreWeightsRange, type BandpassJob, type CollapseJob, type PredictAccumulateJob } from './ms-jobs.js';
import { delaysFromSums } from './delay.js';
import { gainsFromSums, solutionIntervals } from './gains.js';
import type { PointSky } from './model.js';
import { allocChunkBuffers, chunkTimes, msPointing, readChunk, usedAntennas, type ChunkBuffers, type UsedAntennas } from './ms-io.js';
import { isShared, runAccumulateKernel, sharedCopy } from './parallel.js';
import { calTableQa, type CalQa, type QaLimits } from './qa.js';
import { chooseRefant, type RefantStats } from './refant.js';
import { antennaChanGains, assertHasData, createSums, prepareAccumulate, type BaselineSums } from './sums.js';
import type { AntennaChanGains, BandpassTable, DelayTable, GainMode, GainTable, SolInt } from './types.js';

export interface MsCalibrateOptions {
  sky: PointSky;
  /** Reference antenna, MS antenna index (automatic when absent). */
  refant?: number;
  doK?: boolean;
  doBP?: boolean;
  doG?: boolean;
  mode?: GainMode;
  solint?: SolInt;
  minSnr?: number;
  qaLimits?: QaLimits;
  /** Worker threads (default 2; small tables run in the calling thread, see ms-pool.ts). */
  threads?: number;
  /** Memory budget of one time chunk of columns, bytes (default 1 GB). */
  chunkBytes?: number;
  /** HISTORY entry for the MODEL_DATA replacement. */
  history?: HistoryInput;
  fsync?: boolean;
}

export interface MsCalibrateResult {
  /** The antennas solved for (tables are indexed by these compact indices). */
  ants: UsedAntennas;
  /** Reference antenna, compact index. */
  refant: number;
  delays?: DelayTable;
  bandpass?: BandpassTable;
  gains?: GainTable;
  qa: { delays?: CalQa; bandpass?: CalQa; gains?: CalQa };
  passes: boolean;
  /** Seconds spent: model + sums pass, solving, second G pass. */
  timings: { modelPass: number; solve: number; gainPass: number };
}

/**
 * Reference-antenna statistics from the sums' visibility counts (n counts the unflagged,
 * positive-weight cross-correlations), which saves refantStats' own pass over the flags.
 */
export function flagStatsFromSums(sums: BaselineSums, nTimes: number, st: RefantStats): void {
  const { nAnt, nBl, nChan, nPol, ant1, ant2, n } = sums;
  const cp = nChan * nPol;
  for (let b = 0; b < nBl; b++) {
    const i = ant1[b], j = ant2[b];
    if (i === j) continue;
    let good = 0;
    for (let k = b * cp, e = k + cp; k < e; k++) good += n[k];
    const tot = nTimes * cp;
    st.good[i] += good; st.good[j] += good;
    st.total[i] += tot; st.total[j] += tot;
    st.pairGood[i * nAnt + j] += good;
    st.pairGood[j * nAnt + i] += good;
  }
}

function shareIf<T extends Float64Array | Uint8Array>(a: T, shared: boolean): T {
  return shared ? sharedCopy(a) : a;
}

/**
 * Bandpass table from the raw per-channel cells ([chan, ant, pol], referenced to refant): unit
 * mean amplitude per antenna/pol over unflagged channels, flagged solutions set to 1 (as
 * bandpassFromSums does).
 */
function normaliseBandpass(
  raw: Float64Array, rawFlag: Uint8Array, rawSnr: Float32Array, nAnt: number, freqHz: Float64Array, nPol: number,
  refant: number, sums: BaselineSums,
): BandpassTable {
  const nChan = freqHz.length;
  const ap = nAnt * nPol;
  const gain = new Float32Array(2 * nAnt * nChan * nPol);
  const flag = new Uint8Array(nAnt * nChan * nPol);
  const snr = new Float32Array(nAnt * nChan * nPol);
  for (let a = 0; a < nAnt; a++) {
    for (let p = 0; p < nPol; p++) {
      let sumAmp = 0, count = 0;
      for (let c = 0; c < nChan; c++) {
        const k = c * ap + a * nPol + p;
        if (rawFlag[k]) continue;
        sumAmp += Math.hypot(raw[2 * k], raw[2 * k + 1]);
        count++;
      }
      const scale = count > 0 && sumAmp > 0 ? count / sumAmp : 1;
      for (let c = 0; c < nChan; c++) {
        const o = (a * nChan + c) * nPol + p;
        const k = c * ap + a * nPol + p;
        snr[o] = rawSnr[k];
        if (count === 0 || rawFlag[k]) {
          flag[o] = 1;
          gain[2 * o] = 1;
          gain[2 * o + 1] = 0;
          continue;
        }
        gain[2 * o] = raw[2 * k] * scale;
        gain[2 * o + 1] = raw[2 * k + 1] * scale;
      }
    }
  }
  return {
    type: 'BP', nAnt, nChan, nPol, freqHz: Float64Array.from(freqHz), gain, flag, snr, refant,
    timeMjdSec: sums.timeCount > 0 ? sums.timeSum / sums.timeCount : NaN,
  };
}

function timeChunks(nTimes: number, per: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = 0; t < nTimes; t += per) out.push([t, Math.min(nTimes, t + per)]);
  return out;
}

/**
 * Model, solve and QA for a calibrator MS. Writes MODEL_DATA; returns the solutions (nothing
 * else is written here: the command writes the caltables and the registry rows).
 */
export async function calibrateMs(ms: MsTable, o: MsCalibrateOptions): Promise<MsCalibrateResult> {
  const m = ms.meta;
  const ants = usedAntennas(m);
  const nAnt = ants.nAnt;
  if (nAnt < 2) throw new DsaError(`${ms.path}: no cross-correlations to calibrate`);
  const threads = Math.max(1, o.threads ?? 2);
  const doK = o.doK ?? true, doBP = o.doBP ?? true, doG = o.doG ?? true;
  if (!doK && !doBP && !doG) throw new DsaError('nothing to solve: K, BP and G are all switched off');
  if (m.nChan < 2 && (doK || doBP)) throw new DsaError(`${ms.path}: delay and bandpass solutions need at least 2 channels (MS has ${m.nChan})`);
  const minSnr = o.minSnr ?? 3;
  const mode = o.mode ?? 'ap';
  const solint = o.solint ?? 'inf';
  // Two buffer sets (pass 1 double-buffers), each half the budget.
  // An earlier apply scaled WEIGHT_SPECTRUM: undo it from CORRECTED_DATA while reading.
  const restore = priorCalwt(ms);
  const per = chunkTimes(m, (o.chunkBytes ?? 1 << 30) / 2, restore ? 2 : 1);
  const chunks = timeChunks(m.nTimes, per);
  const pool = JobPool.create(threadsFor(m, threads));
  try {
    return await solveWithPool(ms, o, pool, { ants, nAnt, per, chunks, doK, doBP, doG, minSnr, mode, solint, threads, restore });
  } finally {
    await pool.close();
  }
}

interface SolveSetup {
  ants: UsedAntennas; nAnt: number; per: number; chunks: [number, number][];
  doK: boolean; doBP: boolean; doG: boolean; minSnr: number; mode: GainMode; solint: SolInt; threads: number; restore: boolean;
}

async function solveWithPool(ms: MsTable, o: MsCalibrateOptions, pool: JobPool, st: SolveSetup): Promise<MsCalibrateResult> {
  const m = ms.meta;
  const { ants, nAnt, per, chunks, doK, doBP, doG, minSnr, mode, solint, threads, restore } = st;
  if (restore) log.info(`${ms.path}: WEIGHT_SPECTRUM was scaled by an earlier apply; using the restored DATA weights`);
  const sets: ChunkBuffers[] = [0, 1].map(() => allocChunkBuffers(m, per, { model: true, uvw: true, corrected: restore, shared: pool.parallel }));
  const pointing = msPointing(m);
  const dish = m.dishDiameter[0] > 0 ? m.dishDiameter[0] : undefined;
  const sums = createSums(nAnt, ants.ant1, ants.ant2, m.nChan, m.nPol, pool.parallel);
  const stats: RefantStats = { nAnt, good: new Float64Array(nAnt), total: new Float64Array(nAnt), pairGood: new Float64Array(nAnt * nAnt) };

  // Pass 1: MODEL_DATA + per-channel sums (model and sums per baseline range on the workers).
  const tA = performance.now();
  let cur = -1;
  const tt = { read: 0, work: 0 };
  const cp2 = 2 * m.nBaselines * m.nChan * m.nPol;
  const blRanges = splitRange(m.nBaselines, pool.size);
  const compute = async (k: number, set: 0 | 1): Promise<void> => {
      const [t0, t1] = chunks[k];
      let c0 = performance.now();
      const chunk = await readChunk(ms, t0, t1, sets[set], { readUvw: true, readCorrected: restore, ants });
      tt.read += performance.now() - c0;
      c0 = performance.now();
      await pool.run(blRanges.map(([b0, b1]): PredictAccumulateJob => ({
        op: 'predictAccumulate', nTime: t1 - t0, nBl: m.nBaselines, nChan: m.nChan, nPol: m.nPol, nAnt, b0, b1,
        freqHz: m.freq, uvw: chunk.uvw!, phaseCentreRaRad: m.phaseDir[0], phaseCentreDecRad: m.phaseDir[1],
        pointingRaRad: pointing.ra.slice(t0, t1), pointingDecRad: pointing.dec.slice(t0, t1), dishDiameterM: dish,
        skyRa: o.sky.raRad, skyDec: o.sky.decRad, skyFlux: o.sky.fluxJy,
        data: chunk.data, model: chunk.model!, flag: chunk.flag, weight: chunk.weight!, ant1: ants.ant1, ant2: ants.ant2,
        xy: sums.xy, mm: sums.mm, vv: sums.vv, n: sums.n, oldCorrected: chunk.corrected ?? null,
      })));
      for (let u = t0; u < t1; u++) { sums.timeSum += m.time[u]; sums.timeCount++; }
      tt.work += performance.now() - c0;
  };
  const prefetch = new ChunkPrefetcher(chunks.length, compute);
  let curSet: 0 | 1 = 0;
  await replaceColumn(ms, 'MODEL_DATA', async (t) => {
    const k = Math.floor(t / per);
    if (k !== cur) {
      curSet = await prefetch.get(k);
      cur = k;
    }
    const off = (t - chunks[k][0]) * cp2;
    return sets[curSet].model!.subarray(off, off + cp2);
  }, { history: o.history, fsync: o.fsync });
  const modelPass = (performance.now() - tA) / 1000;
  log.debug(`pass 1: read ${(tt.read / 1000).toFixed(2)} s, model + sums ${(tt.work / 1000).toFixed(2)} s, total ${modelPass.toFixed(2)} s (rest: writing MODEL_DATA); ${pool.parallel ? pool.size : 0} worker threads`);
  flagStatsFromSums(sums, m.nTimes, stats);

  // Solve.
  const tB = performance.now();
  let refant: number;
  if (o.refant !== undefined) {
    refant = ants.compact[o.refant] ?? -1;
    if (refant < 0) throw new DsaError(`${ms.path}: reference antenna ${m.antennaNames[o.refant]} has no cross-correlations`);
  } else refant = chooseRefant(stats, ants.positions).refant;
  if (!(stats.good[refant] > 0)) throw new DsaError(`${ms.path}: reference antenna ${ants.names[refant]} has no unflagged data`);
  log.debug(`refant ${ants.names[refant]} (index ${refant})`);
  assertHasData(sums, 'calibration');
  const delays = doK ? delaysFromSums(sums, m.freq, { refant, minSnr }) : undefined;
  const tK = performance.now();
  // Channel-major copy with K removed; the bandpass cells are solved per channel range.
  const needChan = doBP || (doG && solint === 'inf');
  const ap = nAnt * m.nPol;
  const chRanges = splitRange(m.nChan, pool.size);
  const cm = needChan ? createSums(nAnt, ants.ant1, ants.ant2, m.nChan, m.nPol, pool.parallel) : undefined;
  let bandpass: BandpassTable | undefined;
  if (cm) {
    const kPre = delays ? antennaChanGains(nAnt, m.freq, m.nPol, delays) : undefined;
    const alloc = <T>(C: new (b: ArrayBufferLike) => T, bytes: number): T => new C(pool.parallel ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    const rawGain = alloc(Float64Array, 16 * m.nChan * ap);
    const rawFlag = alloc(Uint8Array, m.nChan * ap);
    const rawSnr = alloc(Float32Array, 4 * m.nChan * ap);
    const preGain = kPre ? shareIf(kPre.gain, pool.parallel) : null;
    const preFlag = kPre ? shareIf(kPre.flag, pool.parallel) : null;
    await pool.run(chRanges.map(([c0, c1]): BandpassJob => ({
      op: 'bandpass', c0, c1, nBl: m.nBaselines, nChan: m.nChan, nPol: m.nPol, nAnt, ant1: ants.ant1, ant2: ants.ant2,
      xy: sums.xy, mm: sums.mm, vv: sums.vv, n: sums.n, preGain, preFlag,
      cmXy: cm.xy, cmMm: cm.mm, cmVv: cm.vv, cmN: cm.n, refant, minSnr, solve: doBP, rawGain, rawFlag, rawSnr,
    })));
    if (doBP) bandpass = normaliseBandpass(rawGain, rawFlag, rawSnr, nAnt, m.freq, m.nPol, refant, sums);
  }
  const tBP = performance.now();
  let gains: GainTable | undefined;
  let gainPass = 0;
  if (doG && solint === 'inf' && cm) {
    const bpPre = bandpass ? antennaChanGains(nAnt, m.freq, m.nPol, undefined, bandpass) : undefined;
    const preGain = bpPre ? shareIf(bpPre.gain, pool.parallel) : null;
    const preFlag = bpPre ? shareIf(bpPre.flag, pool.parallel) : null;
    const parts = chRanges.map(() => createSums(nAnt, ants.ant1, ants.ant2, 1, m.nPol, pool.parallel));
    await pool.run(chRanges.map(([c0, c1], k): CollapseJob => ({
      op: 'collapse', c0, c1, nBl: m.nBaselines, nChan: m.nChan, nPol: m.nPol, ant1: ants.ant1, ant2: ants.ant2,
      cmXy: cm.xy, cmMm: cm.mm, cmVv: cm.vv, cmN: cm.n, preGain, preFlag,
      outXy: parts[k].xy, outMm: parts[k].mm, outVv: parts[k].vv, outN: parts[k].n,
    })));
    const g = createSums(nAnt, ants.ant1, ants.ant2, 1, m.nPol);
    for (const q of parts) {
      for (let x = 0; x < g.xy.length; x++) g.xy[x] += q.xy[x];
      for (let x = 0; x < g.mm.length; x++) { g.mm[x] += q.mm[x]; g.vv[x] += q.vv[x]; g.n[x] += q.n[x]; }
    }
    g.timeSum = sums.timeSum;
    g.timeCount = sums.timeCount;
    gains = gainsFromSums([g], nAnt, { refant, delays, bandpass, mode, solint, minSnr });
  }
  log.debug(`solve: K ${((tK - tB) / 1000).toFixed(2)} s, BP ${((tBP - tK) / 1000).toFixed(2)} s, G ${((performance.now() - tBP) / 1000).toFixed(2)} s`);
  const pre = delays || bandpass ? antennaChanGains(nAnt, m.freq, m.nPol, delays, bandpass) : undefined;
  const solve = (performance.now() - tB) / 1000;
  log.debug(`solve: ${solve.toFixed(2)} s`);
  if (doG && solint !== 'inf') {
    const tC = performance.now();
    gains = await gainPassOverMs(ms, { ants, refant, delays, bandpass, pre, mode, solint, minSnr, threads, per, bufs: sets[0], restore });
    gainPass = (performance.now() - tC) / 1000;
  }
  const qa: MsCalibrateResult['qa'] = {};
  if (delays) qa.delays = calTableQa(delays, o.qaLimits);
  if (bandpass) qa.bandpass = calTableQa(bandpass, o.qaLimits);
  if (gains) qa.gains = calTableQa(gains, o.qaLimits);
  const passes = Object.values(qa).every((q) => q.passes);
  return { ants, refant, delays, bandpass, gains, qa, passes, timings: { modelPass, solve, gainPass } };
}

/** Channel-averaged G sums per solution interval over the whole MS (second pass, MODEL_DATA read back). */
async function gainPassOverMs(
  ms: MsTable,
  o: {
    ants: UsedAntennas; refant: number; delays?: DelayTable; bandpass?: BandpassTable; pre?: AntennaChanGains; mode: GainMode; solint: SolInt;
    minSnr: number; threads: number; per: number; bufs: ChunkBuffers; restore: boolean;
  },
): Promise<GainTable> {
  const m = ms.meta;
  const nAnt = o.ants.nAnt;
  const { index, count } = solutionIntervals(m.time, o.solint);
  const all = createSums(nAnt, o.ants.ant1, o.ants.ant2, count, m.nPol, o.threads > 1 && isShared(o.bufs.data));
  const header: BaselineSums = { ...all, nChan: 1 };
  for (const [t0, t1] of timeChunks(m.nTimes, o.per)) {
    const chunk = await readChunk(ms, t0, t1, o.bufs, { readModel: true, readCorrected: o.restore, ants: o.ants });
    if (o.restore) restoreWeightsRange(chunk.data, chunk.corrected!, chunk.weight!, t1 - t0, m.nBaselines, m.nChan * m.nPol, 0, m.nBaselines);
    const args = prepareAccumulate(chunk, header, { pre: o.pre, intervalIndex: index.subarray(t0, t1) });
    await runAccumulateKernel(args, o.threads);
  }
  const blp = m.nBaselines * m.nPol;
  const views: BaselineSums[] = [];
  for (let s = 0; s < count; s++) {
    views.push({
      nAnt, nBl: m.nBaselines, nChan: 1, nPol: m.nPol, ant1: o.ants.ant1, ant2: o.ants.ant2,
      xy: all.xy.subarray(2 * s * blp, 2 * (s + 1) * blp), mm: all.mm.subarray(s * blp, (s + 1) * blp),
      vv: all.vv.subarray(s * blp, (s + 1) * blp), n: all.n.subarray(s * blp, (s + 1) * blp),
      timeSum: 0, timeCount: 0,
    });
  }
  for (let t = 0; t < m.nTimes; t++) {
    views[index[t]].timeSum += m.time[t];
    views[index[t]].timeCount++;
  }
  return gainsFromSums(views, nAnt, { refant: o.refant, delays: o.delays, bandpass: o.bandpass, mode: o.mode, solint: o.solint, minSnr: o.minSnr });
}
