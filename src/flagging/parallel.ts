/**
 * RFI detection across worker threads. Work is split by baseline ranges; every plane is
 * independent, so results equal the single-thread flagRfiRange exactly.
 *
 * If the cube's DATA and FLAG live in SharedArrayBuffers the workers use them directly;
 * otherwise chunks of baselines are copied into a small shared buffer per worker (bounded memory:
 * chunkBaselines × nTime × nChan × nPol × 9 bytes each) and the flags copied back.
 * Falls back to the calling thread when the compiled worker script is not available (e.g. when
 * running from TypeScript sources under vitest).
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import type { Cube, FlagStats, RfiOptions } from './types.js';
import { countFlags, flagRfiRange, resolveRfiOptions, type ResolvedRfiOptions } from './rfi.js';
import type { RfiJob } from './rfiWorker.js';
import { DsaError } from '../util/errors.js';
import { flagZeros } from './modes.js';

export interface ParallelOptions {
  /** Number of worker threads (default: available parallelism). 1 or fewer → calling thread. */
  workers?: number;
  /** Baselines per job (default 64). */
  chunkBaselines?: number;
}

const WORKER_URL = new URL('./rfiWorker.js', import.meta.url);

/** True when the compiled worker script exists next to this module. */
export function parallelAvailable(): boolean {
  try {
    return existsSync(fileURLToPath(WORKER_URL));
  } catch {
    return false;
  }
}

interface Slot {
  worker: Worker;
  data?: Float32Array;
  flags?: Uint8Array;
}

/**
 * RFI detection on the whole cube using worker threads; ORs into cube.flags and returns the
 * number of newly flagged samples.
 */
export async function flagRfiParallelCount(cube: Cube, opts: RfiOptions = {}, par: ParallelOptions = {}, zerosFirst?: { count: number }): Promise<number> {
  const o: ResolvedRfiOptions = resolveRfiOptions(opts);
  const nWorkers = Math.max(1, Math.floor(par.workers ?? availableParallelism()));
  if (nWorkers <= 1 || !parallelAvailable() || cube.nBl < 2) {
    if (zerosFirst) zerosFirst.count += flagZeros(cube);
    return flagRfiRange(cube, o);
  }
  const { nTime, nBl, nChan, nPol } = cube;
  const chunk = Math.max(1, Math.floor(par.chunkBaselines ?? 64));
  const shared = cube.data.buffer instanceof SharedArrayBuffer && cube.flags.buffer instanceof SharedArrayBuffer;
  const slots: Slot[] = [];
  for (let w = 0; w < Math.min(nWorkers, Math.ceil(nBl / chunk)); w++) slots.push({ worker: new Worker(WORKER_URL) });
  const per = nChan * nPol;
  let next = 0;
  let newly = 0;
  let jobId = 0;
  try {
    await Promise.all(slots.map((slot) => new Promise<void>((resolve, reject) => {
      let b0 = 0, b1 = 0;
      const submit = (): void => {
        if (next >= nBl) { resolve(); return; }
        b0 = next;
        b1 = Math.min(nBl, next + chunk);
        next = b1;
        let job: RfiJob;
        if (shared) {
          job = { id: jobId++, nTime, nBl, nChan, nPol, data: cube.data, flags: cube.flags, ant1: cube.ant1, ant2: cube.ant2, b0, b1, opts: o, zeros: !!zerosFirst };
        } else {
          const nb = b1 - b0;
          if (!slot.data || slot.data.length < 2 * nTime * nb * per) {
            slot.data = new Float32Array(new SharedArrayBuffer(8 * nTime * chunk * per));
            slot.flags = new Uint8Array(new SharedArrayBuffer(nTime * chunk * per));
          }
          const data = slot.data.subarray(0, 2 * nTime * nb * per);
          const flags = slot.flags!.subarray(0, nTime * nb * per);
          for (let t = 0; t < nTime; t++) {
            const src = (t * nBl + b0) * per;
            data.set(cube.data.subarray(2 * src, 2 * (src + nb * per)), 2 * t * nb * per);
            flags.set(cube.flags.subarray(src, src + nb * per), t * nb * per);
          }
          job = {
            id: jobId++, nTime, nBl: nb, nChan, nPol, data, flags,
            ant1: cube.ant1.slice(b0, b1), ant2: cube.ant2.slice(b0, b1), b0: 0, b1: nb, opts: o, zeros: !!zerosFirst,
          };
        }
        slot.worker.postMessage(job);
      };
      slot.worker.on('message', (m: { newly?: number; zeros?: number; error?: string }) => {
        if (m.error !== undefined) { reject(new DsaError(`rfi worker: ${m.error}`)); return; }
        newly += m.newly ?? 0;
        if (zerosFirst) zerosFirst.count += m.zeros ?? 0;
        if (!shared) {
          const nb = b1 - b0;
          const flags = slot.flags!;
          for (let t = 0; t < nTime; t++) {
            cube.flags.set(flags.subarray(t * nb * per, (t + 1) * nb * per), (t * nBl + b0) * per);
          }
        }
        submit();
      });
      slot.worker.on('error', (e) => reject(new DsaError(`rfi worker failed: ${e.message}`, { cause: e })));
      submit();
    })));
  } finally {
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
  return newly;
}

/** flagRfi over worker threads, with the same statistics as flagRfi. */
export async function flagRfiParallel(cube: Cube, opts: RfiOptions = {}, par: ParallelOptions = {}): Promise<FlagStats> {
  const t0 = performance.now();
  const newly = await flagRfiParallelCount(cube, opts, par);
  return { total: cube.flags.length, flagged: countFlags(cube.flags), newlyFlagged: newly, seconds: (performance.now() - t0) / 1000 };
}
