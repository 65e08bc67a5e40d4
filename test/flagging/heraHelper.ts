/** Loads the HERA test file (hera_cal, MIT) as a flagging cube plus its stored RFI flags. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { readUvh5Data } from '../../src/io/uvh5.js';
import type { Cube } from '../../src/flagging/types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = process.env.DSA110_SHARED ?? path.resolve(repoRoot, '..', 'shared');
export const HERA_FILE = path.join(SHARED, 'data/uvh5/zen.2458116.61019.xx.HH.XRS_downselected.new_shape.uvh5');
export const heraAvailable = existsSync(HERA_FILE);

export async function loadHera(): Promise<{ cube: Cube; fileFlags: Uint8Array }> {
  const { meta, vis, flags } = await readUvh5Data(HERA_FILE);
  const times = Array.from(meta.uniqueTimes);
  const tIndex = new Map(times.map((t, i) => [t, i]));
  const blKey = (a: number, b: number): string => `${a}-${b}`;
  const bls: [number, number][] = [];
  const blIndex = new Map<string, number>();
  for (let i = 0; i < meta.nBlts; i++) {
    const k = blKey(meta.ant1[i], meta.ant2[i]);
    if (!blIndex.has(k)) { blIndex.set(k, bls.length); bls.push([meta.ant1[i], meta.ant2[i]]); }
  }
  const nTime = times.length, nBl = bls.length, nChan = meta.nFreqs, nPol = meta.nPols;
  const per = nChan * nPol;
  const data = new Float32Array(2 * nTime * nBl * per);
  const fileFlags = new Uint8Array(nTime * nBl * per);
  for (let i = 0; i < meta.nBlts; i++) {
    const t = tIndex.get(meta.times[i])!;
    const b = blIndex.get(blKey(meta.ant1[i], meta.ant2[i]))!;
    const dst = (t * nBl + b) * per;
    data.set(vis.subarray(2 * i * per, 2 * (i + 1) * per), 2 * dst);
    fileFlags.set(flags.subarray(i * per, (i + 1) * per), dst);
  }
  const ant1 = Int32Array.from(bls.map((x) => x[0]));
  const ant2 = Int32Array.from(bls.map((x) => x[1]));
  const tsec = Float64Array.from(times.map((jd) => jd * 86400));
  return { cube: { nTime, nBl, nChan, nPol, data, flags: new Uint8Array(fileFlags.length), ant1, ant2, times: tsec }, fileFlags };
}
