/**
 * Worker-thread entry for parallel RFI detection: receives a cube whose buffers are shared
 * (SharedArrayBuffer) and a baseline range, flags it in place, answers the newly flagged count.
 */
import { parentPort } from 'node:worker_threads';
import { flagRfiRange, type ResolvedRfiOptions } from './rfi.js';
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
}

parentPort?.on('message', (job: RfiJob) => {
  try {
    const cube: Cube = {
      nTime: job.nTime, nBl: job.nBl, nChan: job.nChan, nPol: job.nPol,
      data: job.data, flags: job.flags, ant1: job.ant1, ant2: job.ant2,
    };
    const newly = flagRfiRange(cube, job.opts, job.b0, job.b1);
    parentPort?.postMessage({ id: job.id, newly });
  } catch (e) {
    parentPort?.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) });
  }
});
