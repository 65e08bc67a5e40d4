/**
 * `dsa110 image` end to end at DSA-110 scale, as an operator runs it: one full simulated group
 * (96 antennas, 16 subbands × 48 channels, 24 integrations, dec +55°, point sources, thermal
 * noise), converted by the CLI, then imaged by the CLI to 4096² at 3″ with niter 1000 (read the
 * MS, weighting, gridding, FFTs, deconvolution, primary beams, the six FITS products and the PNG,
 * the registry) in a child process: wall time, peak RSS and the command's own stage split, median
 * of BENCH_RUNS runs (default 3). BENCH_IMG_ARGS adds options (e.g. "--beam-chunks 1").
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


export async function run(): Promise<Record<string, number>> {
  const root = fs.mkdtempSync(path.join(process.env['BENCH_TMP'] ?? os.tmpdir(), 'bench-image-'));
  const runs = Number(process.env['BENCH_RUNS'] ?? 3);
  const extra = (process.env['BENCH_IMG_ARGS'] ?? '').split(/\s+/).filter(Boolean);
  try {
    const inDir = path.join(root, 'in');
    await simulateGroups({ outDir: inDir, antennas: 96, subbands: 16, channelsPerSubband: 48, integrations: 24, nsrc: 8, dec: 55, gains: false, rfi: false, antennaSelection: 'spread', seed: 5 });
    const c = spawnSync(process.execPath, [BIN, '--db', path.join(root, 'db.sqlite3'), '-q', 'convert', '-o', path.join(root, 'ms'), inDir], { encoding: 'utf8' });
    if (c.status !== 0) throw new Error(`convert failed: ${c.stderr}`);
    const ms = c.stdout.trim();
    fs.rmSync(inDir, { recursive: true, force: true });
    const walls: number[] = [], rss: number[] = [];
    const stages: Record<string, number[]> = {};
    let last: Record<string, unknown> = {};
    for (let i = 0; i < runs; i++) {
      const out = path.join(root, `img${i}`);
      const t0 = performance.now();
      const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, '--db', path.join(root, 'db.sqlite3'), '-q', 'image', '--json',
        '--size', '4096', '--scale', '3', '--niter', '1000', ...extra, '-o', out, ms], { encoding: 'utf8' });
      walls.push((performance.now() - t0) / 1000);
      if (r.status !== 0) throw new Error(`image failed: ${r.stderr}`);
      rss.push(Number(r.stderr.trim().split('\n').pop()) / 1024 / 1024); // KiB → GiB
      last = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
      for (const [k, v] of Object.entries(last['timings'] as Record<string, number>)) (stages[k] ??= []).push(v);
      process.stderr.write(`  run ${i + 1}: ${walls[i]!.toFixed(1)} s ${JSON.stringify(last['timings'])}\n`);
      fs.rmSync(out, { recursive: true, force: true });
    }
    const split: Record<string, number> = {};
    for (const [k, v] of Object.entries(stages)) split[`${k}MedianS`] = median(v);
    return {
      imageWallMedianS: median(walls), imageWallMinS: Math.min(...walls), imageWallMaxS: Math.max(...walls),
      peakRssGiB: Math.max(...rss), ...split,
      noiseJy: Number(last['noise_jy']), expectedNoiseJy: Number(last['expected_noise_jy']), majorCycles: Number(last['major_cycles']), components: Number(last['components']),
      runs,
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
