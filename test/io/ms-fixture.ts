/** Small deterministic MS fixture shared by the ms*.test.ts files. */
import { createMs, MsMeta } from '../../src/io/ms.js';

export const DEAD_PID = 2147000000; // above any Linux pid_max: never a live process

export function makeMeta(nT = 3, nAnt = 5, nChan = 6, nPol = 2): MsMeta {
  const nBl = (nAnt * (nAnt + 1)) / 2;
  const ant1 = new Int32Array(nBl);
  const ant2 = new Int32Array(nBl);
  let b = 0;
  for (let i = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++) (ant1[b] = i), (ant2[b++] = j);
  return {
    groupId: '2025-10-02T00:12:00',
    nTimes: nT,
    nBaselines: nBl,
    nChan,
    nPol,
    time: Float64Array.from({ length: nT }, (_, i) => 5_218_000_000 + 12.884901888 * (i + 0.5)),
    interval: new Float64Array(nT).fill(12.884901888),
    ant1,
    ant2,
    freq: Float64Array.from({ length: nChan }, (_, i) => 1.3111e9 + 244140.625 * i),
    chanWidth: new Float64Array(nChan).fill(244140.625),
    corrType: nPol === 2 ? new Int32Array([9, 12]) : Int32Array.from({ length: nPol }, (_, i) => 9 + i),
    antennaNames: Array.from({ length: nAnt }, (_, i) => `DSA-${String(i + 1).padStart(3, '0')}`),
    antennaPositions: Float64Array.from({ length: 3 * nAnt }, (_, i) => [-2409150.4, -4478573.1, 3838617.3][i % 3] + Math.floor(i / 3) * 5.75),
    dishDiameter: new Float64Array(nAnt).fill(4.65),
    phaseDir: [0.6, 0.9],
    meridianRa: Float64Array.from({ length: nT }, (_, i) => 0.6 + i * 9.4e-4),
    meridianDec: new Float64Array(nT).fill(0.9),
    telescope: 'DSA_110',
    attrs: { note: 'fixture' },
  };
}

/** Deterministic column values for time t (distinct per time and element). */
export function cols(m: MsMeta, t: number) {
  const n = m.nBaselines * m.nChan * m.nPol;
  return {
    DATA: Float32Array.from({ length: 2 * n }, (_, i) => t * 10000 + i * (i % 2 ? -0.5 : 1)),
    FLAG: Uint8Array.from({ length: n }, (_, i) => ((i + t) % 5 === 0 ? 1 : 0)),
    WEIGHT_SPECTRUM: Float32Array.from({ length: n }, (_, i) => 1 + ((i + t) % 4)),
    UVW: Float64Array.from({ length: 3 * m.nBaselines }, (_, i) => (i % 3) * 100 - t - i * 0.25),
  };
}

export async function writeFixture(p: string, m: MsMeta = makeMeta()): Promise<MsMeta> {
  const w = await createMs(p, m, { fsync: false, createdBy: 'test' });
  for (let t = 0; t < m.nTimes; t++) await w.writeTime(t, cols(m, t));
  w.addHistory({ command: 'convert', version: '0.1.0', args: ['a_sb00.hdf5'], time: '2025-10-02T00:20:00.000Z' });
  await w.commit();
  return m;
}
