/**
 * Worker-thread entry for parallel RFI detection: receives a cube whose buffers are shared
 * (SharedArrayBuffer) and a baseline range, flags it in place, answers the newly flagged count.
 */
import { parentPort } from 'node:worker_threads';
import { flagRfiRange, type ResolvedRfiOptions } from './rfi.js';
import { flagZerosRange } from './modes.js';
import type { Cube } from './types.js';

export interface RfiJob {
  id: number;
  nTime: number;
  nBl: number;
  nChan: number;
  nPol: number;
  data: Float32Array;
  flags: Uint8Array;
  ant1: Int32Array;
  ant2: Int32Array;
  b0: number;
  b1: number;
  opts: ResolvedRfiOptions;
  /** Flag exact zeros and non-finite samples of the range first (the strategy's zeros step, fused). */
  zeros?: boolean;
}

parentPort?.on('message', (job: RfiJob) => {
  try {
    const cube: Cube = {
      nTime: job.nTime, nBl: job.nBl, nChan: job.nChan, nPol: job.nPol,
      data: job.data, flags: job.flags, ant1: job.ant1, ant2: job.ant2,
    };
    const zeros = job.zeros ? flagZerosRange(cube, job.b0, job.b1) : 0;
    const newly = flagRfiRange(cube, job.opts, job.b0, job.b1);
    parentPort?.postMessage({ id: job.id, newly, zeros });
  } catch (e) {
    parentPort?.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) });
  }
});
