/**
 * UVH5 benchmark at DSA-110 scale: simulate one full group (96 antennas → 4,656 baselines with
 * autos, 16 subbands × 48 channels, 24 integrations, XX/YY) and read it back.
 *
 * Rates are GB of visdata (8 bytes per complex64 visibility) per second; flags and nsamples are
 * read too (13 bytes read per visibility in all). Both wall-clock and CPU seconds are reported
 * (the machine is shared: wall time is inflated by other load, CPU time much less so).
 * - stream: 1 integration (4,656 rows) per call into reused buffers (what convert does);
 * - whole: one readBlts per file into fresh arrays;
 * - *_h5wasm: the same with direct reads disabled (every byte through h5wasm's wasm heap);
 * - cold: stream again (direct, then h5wasm) after evicting the files from the page cache with
 *   `dd iflag=nocache` (posix_fadvise DONTNEED on each file; no root needed; -1 if that failed).
 * BENCH_UVH5_DIR=DIR reuses (or creates and keeps) the simulated group there.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { simulateGroups } from '../src/sim/simulate.js';
import { openUvh5, type Uvh5OpenOptions } from '../src/io/uvh5.js';

interface Timing {
  wallS: number;
  cpuS: number;
  visBytes: number;
}

async function timed(f: () => Promise<number>): Promise<Timing> {
  const t = performance.now();
  const c = process.cpuUsage();
  const visBytes = await f();
  const cd = process.cpuUsage(c);
  return { wallS: (performance.now() - t) / 1000, cpuS: (cd.user + cd.system) / 1e6, visBytes };
}

async function readStream(files: string[], opts: Uvh5OpenOptions): Promise<number> {
  let visBytes = 0;
  let checksum = 0;
  for (const f of files) {
    const h = await openUvh5(f, opts);
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
  if (!Number.isFinite(checksum)) throw new Error('non-finite visibilities');
  return visBytes;
}

async function readWhole(files: string[], opts: Uvh5OpenOptions): Promise<number> {
  let visBytes = 0;
  let checksum = 0;
  for (const f of files) {
    const h = await openUvh5(f, opts);
    try {
      const d = h.readBlts(0, h.meta.nBlts);
      visBytes += d.vis.length * 4;
      checksum += d.vis[3];
    } finally {
      h.close();
    }
  }
  if (!Number.isFinite(checksum)) throw new Error('non-finite visibilities');
  return visBytes;
}

/** Drop the files' pages from the page cache; false if dd is missing or refused. */
function evict(files: string[]): boolean {
  for (const f of files) {
    const r = spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
    if (r.status !== 0) return false;
  }
  return true;
}

export async function run(): Promise<Record<string, number>> {
  const keep = process.env['BENCH_UVH5_DIR'];
  const dir = keep ?? fs.mkdtempSync(path.join(process.env['BENCH_TMP'] ?? os.tmpdir(), 'bench-uvh5-'));
  const fig: Record<string, number> = {};
  try {
    let files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.hdf5')).sort().map((f) => path.join(dir, f)) : [];
    if (files.length === 0) {
      const sim = await timed(async () => {
        const res = await simulateGroups({ outDir: dir, antennas: 96, subbands: 16, channelsPerSubband: 48, integrations: 24, nsrc: 5, rfi: true, seed: 1 });
        files = res.files;
        return 0;
      });
      fig['simulate_s'] = sim.wallS;
      fig['simulate_cpu_s'] = sim.cpuS;
    }
    let fileBytes = 0;
    for (const f of files) fileBytes += fs.statSync(f).size;
    fig['files'] = files.length;
    fig['group_file_gb'] = fileBytes / 1e9;

    const put = (name: string, t: Timing): void => {
      fig[`${name}_s`] = t.wallS;
      fig[`${name}_cpu_s`] = t.cpuS;
      fig[`${name}_vis_gb_per_s`] = t.visBytes / 1e9 / t.wallS;
      fig[`${name}_vis_gb_per_cpu_s`] = t.visBytes / 1e9 / t.cpuS;
    };
    // warm the page cache (the files may have been written long ago or evicted)
    await readStream(files, {});
    const stream = await timed(() => readStream(files, {}));
    fig['visdata_gb'] = stream.visBytes / 1e9;
    put('read_stream', stream);
    put('read_whole', await timed(() => readWhole(files, {})));
    put('read_stream_h5wasm', await timed(() => readStream(files, { direct: false })));
    put('read_whole_h5wasm', await timed(() => readWhole(files, { direct: false })));
    if (evict(files)) {
      put('read_stream_cold', await timed(() => readStream(files, {})));
      evict(files);
      put('read_stream_cold_h5wasm', await timed(() => readStream(files, { direct: false })));
    } else fig['read_stream_cold_s'] = -1;
    fig['load_average_1min'] = os.loadavg()[0];
    return fig;
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]).replace(/\.ts$/, '.js') === path.resolve(new URL(import.meta.url).pathname).replace(/\.ts$/, '.js')) {
  run().then((r) => console.log(JSON.stringify(r, null, 1)));
}
