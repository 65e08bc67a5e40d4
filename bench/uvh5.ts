/**
 * UVH5 benchmark at DSA-110 scale: simulate one full group (96 antennas → 4,656 baselines with
 * autos, 16 subbands × 48 channels, 24 integrations, XX/YY) and read it back.
 * Reports simulate seconds, read seconds (warm page cache: the files were just written) and the
 * visibility read rate in GB/s (visdata bytes only, 8 bytes per complex64 visibility).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { simulateGroups } from '../src/sim/simulate.js';
import { openUvh5 } from '../src/io/uvh5.js';

export async function run(): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(process.env['BENCH_TMP'] ?? os.tmpdir(), 'bench-uvh5-'));
  try {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const res = await simulateGroups({ outDir: dir, antennas: 96, subbands: 16, channelsPerSubband: 48, integrations: 24, nsrc: 5, rfi: true, seed: 1 });
    const simS = (performance.now() - t0) / 1000;
    const c0d = process.cpuUsage(c0);
    const simCpuS = (c0d.user + c0d.system) / 1e6;
    let fileBytes = 0;
    for (const f of res.files) fileBytes += fs.statSync(f).size;

    // warm-up pass over the page cache is implicit (just written); read every subband fully,
    // streaming 1 integration (4,656 rows) at a time into reused buffers.
    let visBytes = 0;
    let checksum = 0;
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    for (const f of res.files) {
      const h = await openUvh5(f);
      try {
        const m = h.meta;
        const per = m.nFreqs * m.nPols;
        const rows = m.nBls;
        const out = { vis: new Float32Array(2 * rows * per), flags: new Uint8Array(rows * per), nsamples: new Float32Array(rows * per) };
        for (let s = 0; s < m.nBlts; s += rows) {
          const e = Math.min(m.nBlts, s + rows);
          h.readBltsInto(s, e, out);
          visBytes += (e - s) * per * 8;
          checksum += out.vis[1];
        }
      } finally {
        h.close();
      }
    }
    const readS = (performance.now() - t1) / 1000;
    const c1d = process.cpuUsage(c1);
    const readCpuS = (c1d.user + c1d.system) / 1e6;

    // whole-file reads (one call per file)
    const t2 = performance.now();
    for (const f of res.files) {
      const h = await openUvh5(f);
      try {
        const d = h.readBlts(0, h.meta.nBlts);
        checksum += d.vis[3];
      } finally {
        h.close();
      }
    }
    const readWholeS = (performance.now() - t2) / 1000;
    if (!Number.isFinite(checksum)) throw new Error('non-finite visibilities');
    return {
      simulate_s: simS,
      simulate_cpu_s: simCpuS,
      files: res.files.length,
      group_file_gb: fileBytes / 1e9,
      visdata_gb: visBytes / 1e9,
      read_stream_s: readS,
      read_stream_cpu_s: readCpuS,
      load_average_1min: os.loadavg()[0],
      read_stream_vis_gb_per_s: visBytes / 1e9 / readS,
      read_whole_s: readWholeS,
      read_whole_vis_gb_per_s: visBytes / 1e9 / readWholeS,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]).replace(/\.ts$/, '.js') === path.resolve(new URL(import.meta.url).pathname).replace(/\.ts$/, '.js')) {
  run().then((r) => console.log(JSON.stringify(r, null, 1)));
}
