/**
 * MS table I/O at full DSA-110 scale: one group = 24 times × 4,656 baselines × 768 channels ×
 * 2 pols (DATA 1.37 GB). Measures create+commit (with and without fsync), warm-cache reads of
 * DATA per time and in one readTimes call, and a FLAG replaceColumn. Reports GB/s of column bytes.
 * Scratch goes to $DSA110_BENCH_DIR or the OS temp dir and is removed afterwards.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMs, openMs, replaceColumn, MsMeta } from '../src/io/ms.js';

const GB = 1e9;

function fullMeta(nT = 24, nAnt = 96, nChan = 768, nPol = 2): MsMeta {
  const nBl = (nAnt * (nAnt + 1)) / 2;
  const ant1 = new Int32Array(nBl);
  const ant2 = new Int32Array(nBl);
  let b = 0;
  for (let i = 0; i < nAnt; i++) for (let j = i; j < nAnt; j++) (ant1[b] = i), (ant2[b++] = j);
  return {
    groupId: 'bench',
    nTimes: nT,
    nBaselines: nBl,
    nChan,
    nPol,
    time: Float64Array.from({ length: nT }, (_, i) => 5.218e9 + 12.884901888 * i),
    interval: new Float64Array(nT).fill(12.884901888),
    ant1,
    ant2,
    freq: Float64Array.from({ length: nChan }, (_, i) => 1.3111e9 + 244140.625 * i),
    chanWidth: new Float64Array(nChan).fill(244140.625),
    corrType: new Int32Array([9, 12]),
    antennaNames: Array.from({ length: nAnt }, (_, i) => `DSA-${String(i + 1).padStart(3, '0')}`),
    antennaPositions: new Float64Array(3 * nAnt).fill(1),
    dishDiameter: new Float64Array(nAnt).fill(4.65),
    phaseDir: [0, 0.5],
    telescope: 'DSA_110',
    attrs: {},
  };
}

async function writeGroup(p: string, m: MsMeta, fsync: boolean, bufs: ReturnType<typeof makeBufs>): Promise<number> {
  const t0 = performance.now();
  const w = await createMs(p, m, { fsync });
  for (let t = 0; t < m.nTimes; t++) {
    bufs.DATA[0] = t; // vary content per time, cheaply
    await w.writeTime(t, bufs);
  }
  await w.commit();
  return (performance.now() - t0) / 1000;
}

function makeBufs(m: MsMeta) {
  const n = m.nBaselines * m.nChan * m.nPol;
  const DATA = new Float32Array(2 * n);
  for (let i = 0; i < DATA.length; i++) DATA[i] = (i % 1000) * 0.001;
  const FLAG = new Uint8Array(n);
  for (let i = 0; i < n; i += 97) FLAG[i] = 1;
  return { DATA, FLAG, WEIGHT_SPECTRUM: new Float32Array(n).fill(1), UVW: new Float64Array(3 * m.nBaselines).fill(100) };
}

export async function run(): Promise<Record<string, number>> {
  const base = process.env.DSA110_BENCH_DIR ?? os.tmpdir();
  const dir = await fsp.mkdtemp(path.join(base, 'dsa110-bench-ms-'));
  try {
    const m = fullMeta();
    const p = path.join(dir, 'bench.ms.zarr');
    const n = m.nBaselines * m.nChan * m.nPol;
    const bytesPerTime = n * 8 + n + n * 4 + m.nBaselines * 24; // DATA + FLAG + WEIGHT + UVW
    const total = bytesPerTime * m.nTimes;
    const dataBytes = n * 8 * m.nTimes;
    const bufs = makeBufs(m);

    const out: Record<string, number> = {};
    const sNo = await writeGroup(p, m, false, bufs);
    out.write_nofsync_s = sNo;
    out.write_nofsync_GBps = total / GB / sNo;
    const sSync = await writeGroup(p, m, true, bufs); // also exercises replace-existing
    out.write_fsync_s = sSync;
    out.write_fsync_GBps = total / GB / sSync;

    const ms = await openMs(p);
    const buf = new Float32Array(2 * n);
    let t0 = performance.now();
    for (let t = 0; t < m.nTimes; t++) await ms.readTime('DATA', t, buf);
    let s = (performance.now() - t0) / 1000;
    out.read_DATA_per_time_s = s;
    out.read_DATA_per_time_GBps = dataBytes / GB / s;
    if (buf[0] !== m.nTimes - 1) throw new Error('bench read back wrong data');

    t0 = performance.now();
    const all = await ms.readTimes('DATA', 0, m.nTimes);
    s = (performance.now() - t0) / 1000;
    out.read_DATA_all_s = s;
    out.read_DATA_all_GBps = dataBytes / GB / s;
    if (all.length !== 2 * n * m.nTimes) throw new Error('bench readTimes length');

    const fbuf = new Uint8Array(n);
    t0 = performance.now();
    await replaceColumn(ms, 'FLAG', async (t) => {
      await ms.readTime('FLAG', t, fbuf);
      return fbuf;
    });
    s = (performance.now() - t0) / 1000;
    out.replace_FLAG_s = s;
    out.replace_FLAG_GBps = (2 * n * m.nTimes) / GB / s; // read + write
    return out;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
