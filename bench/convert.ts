/**
 * convert benchmark at DSA-110 scale: one full group (96 antennas → 4,656 baselines with autos,
 * 16 subbands × 48 channels, 24 integrations, XX/YY; ~2.3 GB of UVH5) converted by the real CLI
 * in a child process (wall time and peak RSS), median of BENCH_RUNS runs (default 3), next to the
 * I/O floor: reading the input bytes and writing as many output bytes as the table holds.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { simulateGroups } from '../src/sim/simulate.js';
import { median } from './_stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, '..', '..', 'bin', 'dsa110');


function duBytes(p: string): number {
  let n = 0;
  const st = fs.statSync(p);
  if (st.isFile()) return st.size;
  for (const e of fs.readdirSync(p)) n += duBytes(path.join(p, e));
  return n;
}

export async function run(): Promise<Record<string, number>> {
  const root = fs.mkdtempSync(path.join(process.env['BENCH_TMP'] ?? os.tmpdir(), 'bench-convert-'));
  const runs = Number(process.env['BENCH_RUNS'] ?? 3);
  try {
    const inDir = path.join(root, 'in');
    const res = await simulateGroups({ outDir: inDir, antennas: 96, subbands: 16, channelsPerSubband: 48, integrations: 24, nsrc: 5, seed: 3 });
    let inBytes = 0;
    for (const f of res.files) inBytes += fs.statSync(f).size;

    // I/O floor: read every input byte, then write the same number of bytes the table holds.
    const buf = Buffer.allocUnsafe(64 << 20);
    const tr = performance.now();
    for (const f of res.files) {
      const fd = fs.openSync(f, 'r');
      while (fs.readSync(fd, buf, 0, buf.length, null) > 0) { /* discard */ }
      fs.closeSync(fd);
    }
    const readFloorS = (performance.now() - tr) / 1000;

    const walls: number[] = [];
    const rss: number[] = [];
    let outBytes = 0;
    for (let i = 0; i < runs; i++) {
      const out = path.join(root, `out${i}`);
      fs.mkdirSync(out);
      const t0 = performance.now();
      const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, '--db', path.join(root, `db${i}.sqlite3`), '-q', 'convert', '-o', out, inDir], { encoding: 'utf8' });
      walls.push((performance.now() - t0) / 1000);
      if (r.status !== 0) throw new Error(`convert failed: ${r.stderr}`);
      rss.push(Number(r.stderr.trim().split('\n').pop()) / 1024 / 1024); // KiB → GiB
      const ms = r.stdout.trim();
      outBytes = duBytes(ms);
      fs.rmSync(out, { recursive: true, force: true });
    }
    const tw = performance.now();
    const wfile = path.join(root, 'floor.bin');
    const fd = fs.openSync(wfile, 'w');
    for (let left = outBytes; left > 0; left -= buf.length) fs.writeSync(fd, buf, 0, Math.min(buf.length, left));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const writeFloorS = (performance.now() - tw) / 1000;
    return {
      inputGB: inBytes / 1e9,
      outputGB: outBytes / 1e9,
      convertWallMedianS: median(walls),
      convertWallMinS: Math.min(...walls),
      convertWallMaxS: Math.max(...walls),
      peakRssGiB: Math.max(...rss),
      ioFloorReadS: readFloorS,
      ioFloorWriteS: writeFloorS,
      ioFloorTotalS: readFloorS + writeFloorS,
      runs,
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
