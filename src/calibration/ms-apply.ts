/**
 * Apply calibration to an MS, streamed by time chunks: CORRECTED_DATA = DATA / (g_i conj(g_j)),
 * FLAG |= flagged solutions, WEIGHT_SPECTRUM × |g_i g_j|² (calwt).
 *
 * The three columns are replaced by three concurrent replaceColumn calls fed from one shared
 * computation per time chunk (a barrier: a chunk is handed out once all three writers have asked
 * for it, i.e. have finished writing the previous one). Chunks are double-buffered: chunk k+1 is
 * read and corrected (ms-jobs.ts applyRange on the worker pool, by baseline range) while chunk
 * k is written. The last chunk checks that the corrected data are not all zero; failing that,
 * every producer throws and nothing is replaced.
 *
 * Re-running apply is safe: WEIGHT_SPECTRUM already scaled by an earlier apply (HISTORY entry
 * with `calwt`) is first restored with the earlier factor, recovered exactly from the stored
 * columns as |CORRECTED_DATA|²/|DATA|² (= 1/|F_old|²), so weights never compound. Flags set by
 * earlier solutions stay set (as after CASA applycal without restoring a flag backup).
 */
import { replaceColumn, type HistoryInput, type MsTable } from '../io/ms.js';
import { DsaError } from '../util/errors.js';
import { log } from '../util/log.js';
import { addCounts, CalApplier, emptyCounts, type ApplyCounts, type ApplyTables } from './apply.js';
import { allocChunkBuffers, chunkTimes, readChunk } from './ms-io.js';
import { JobPool, splitRange, threadsFor } from './ms-pool.js';
import { ChunkPrefetcher } from './prefetch.js';
import type { ApplyJob } from './ms-jobs.js';

export interface MsApplyOptions {
  calwt?: boolean;
  threads?: number;
  chunkBytes?: number;
  history?: HistoryInput;
  fsync?: boolean;
}

export interface MsApplyResult extends ApplyCounts {
  /** Whether any unflagged corrected visibility is non-zero (checked until the first one). */
  anyNonZero: boolean;
  /** Whether weights of an earlier apply were restored first. */
  restoredWeights: boolean;
  seconds: number;
}

/** True when the newest apply in HISTORY scaled the weights (and CORRECTED_DATA exists). */
export function priorCalwt(ms: MsTable): boolean {
  if (!ms.has('CORRECTED_DATA')) return false;
  const applies = ms.history().filter((e) => e.command === 'apply');
  const last = applies[applies.length - 1];
  return !!last && last.args.includes('calwt');
}

type Col = 'CORRECTED_DATA' | 'FLAG' | 'WEIGHT_SPECTRUM';
const COLS: Col[] = ['CORRECTED_DATA', 'FLAG', 'WEIGHT_SPECTRUM'];

export async function applyToMs(ms: MsTable, tables: ApplyTables, o: MsApplyOptions = {}): Promise<MsApplyResult> {
  const t00 = performance.now();
  const m = ms.meta;
  const nAnt = m.antennaNames.length;
  const calwt = o.calwt ?? true;
  const threads = Math.max(1, o.threads ?? 2);
  const applier = new CalApplier(nAnt, m.freq, m.nPol, tables, { calwt });
  const restore = priorCalwt(ms);
  // Two buffer sets (double buffering), each half the budget.
  const per = chunkTimes(m, (o.chunkBytes ?? 1 << 30) / 2, restore);
  const pool = JobPool.create(threadsFor(m, threads));
  let sets: ReturnType<typeof allocChunkBuffers>[];
  try {
    // The `model` buffer holds the old CORRECTED_DATA when weights are restored.
    sets = [0, 1].map(() => allocChunkBuffers(m, per, { model: restore, shared: pool.parallel }));
  } catch (e) {
    await pool.close();
    throw e;
  }
  const blRanges = splitRange(m.nBaselines, pool.size);
  const nVis = m.nBaselines * m.nChan * m.nPol;
  let counts = emptyCounts();
  let anyNonZero = false;
  let aborted: unknown = null;

  // Barrier state: chunk k is computed when all three writers have asked for it.
  let cur = -1;
  let bufs = sets[0];
  const nChunks = Math.ceil(m.nTimes / per);
  let arrivals = 0;
  let ready: Promise<void> = Promise.resolve();
  let release: { resolve: () => void; reject: (e: unknown) => void } | null = null;

  const tt = { read: 0, apply: 0 };
  const compute = async (k: number, set: 0 | 1): Promise<void> => {
    const bufs = sets[set];
    const t0 = k * per, t1 = Math.min(m.nTimes, t0 + per);
    let c0 = performance.now();
    const chunk = await readChunk(ms, t0, t1, bufs);
    const old = restore ? await ms.readTimes('CORRECTED_DATA', t0, t1, bufs.model!.subarray(0, 2 * (t1 - t0) * nVis)) : null;
    tt.read += performance.now() - c0;
    c0 = performance.now();
    const args = applier.prepare(chunk);
    const res = (await pool.run(blRanges.map(([b0, b1]): ApplyJob => ({ op: 'apply', b0, b1, args, oldCorrected: old })))) as number[][];
    for (const r of res) {
      counts = addCounts(counts, { visibilities: 0, alreadyFlagged: r[0], flaggedBySolutions: r[1], nonFinite: r[2] });
      if (r[3]) anyNonZero = true;
    }
    counts.visibilities += chunk.nTime * nVis;
    tt.apply += performance.now() - c0;
    if (t1 === m.nTimes && !anyNonZero) {
      throw new DsaError('corrected data are all zero or flagged (every solution flagged?); nothing replaced', { subject: ms.path });
    }
  };

  const prefetch = new ChunkPrefetcher(nChunks, compute);
  const produce = (col: Col) => async (t: number): Promise<ArrayBufferView> => {
    if (aborted) throw aborted;
    const k = Math.floor(t / per);
    if (k !== cur) {
      if (arrivals === 0) {
        ready = new Promise<void>((resolve, reject) => { release = { resolve, reject }; });
        ready.catch(() => undefined);
      }
      arrivals++;
      if (arrivals === COLS.length) {
        arrivals = 0;
        const r = release!;
        try {
          bufs = sets[await prefetch.get(k)];
          cur = k;
          r.resolve();
        } catch (e) {
          aborted = e;
          r.reject(e);
        }
      }
      await ready;
    }
    const i0 = (t - k * per) * nVis;
    if (col === 'CORRECTED_DATA') return bufs.data.subarray(2 * i0, 2 * (i0 + nVis));
    if (col === 'FLAG') return bufs.flag.subarray(i0, i0 + nVis);
    return bufs.weight.subarray(i0, i0 + nVis);
  };

  const runs = COLS.map((col) =>
    replaceColumn(ms, col, produce(col), { history: col === 'CORRECTED_DATA' ? o.history : undefined, fsync: o.fsync }).catch((e: unknown) => {
      // A writer that fails on its own must not leave the others waiting at the barrier.
      if (!aborted) {
        aborted = e;
        release?.reject(e);
      }
      throw e;
    }),
  );
  const settled = await Promise.allSettled(runs).finally(() => pool.close());
  log.debug(`apply: read ${(tt.read / 1000).toFixed(2)} s, correct ${(tt.apply / 1000).toFixed(2)} s, total ${((performance.now() - t00) / 1000).toFixed(2)} s (rest: writing)`);
  const bad = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
  if (bad) throw aborted ?? bad.reason;
  return { ...counts, anyNonZero, restoredWeights: restore, seconds: (performance.now() - t00) / 1000 };
}
