/**
 * One run of scripts/demo shared by the test files that check it (the demo end to end, the
 * mosaic strip acceptance): a 6-group night takes ~2 minutes on 2 cores, too long to run twice.
 * Test files run in separate processes (vitest forks) of one vitest process, so the run is keyed
 * by that parent's pid: the first file to get the lock runs the demo, the others wait for it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './cli.js';

export interface DemoRun { out: string; status: number; stderr: string }

const WAIT_MS = 15 * 60_000;

function sleepSync(ms: number): void { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); }

/** The output directory of `scripts/demo OUT ngroups` (48 antennas), run once per vitest run. */
export function demoNight(ngroups: number): DemoRun {
  const base = path.join(os.tmpdir(), `dsa110-demo-night-${process.ppid}-${ngroups}`);
  const out = path.join(base, 'demo-output'), done = path.join(base, 'done.json');
  let mine = false;
  try { mkdirSync(base); mine = true; } catch { /* another file runs it */ }
  if (mine) {
    const r = spawnSync('bash', [path.join(REPO, 'scripts', 'demo'), out, String(ngroups)], {
      encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', DEMO_ANTENNAS: '48' }, maxBuffer: 64 << 20,
    });
    const run: DemoRun = { out, status: r.status ?? -1, stderr: (r.stderr ?? '').slice(-4000) };
    writeFileSync(done, JSON.stringify(run));
    return run;
  }
  const t0 = Date.now();
  while (!existsSync(done)) {
    if (Date.now() - t0 > WAIT_MS) return { out, status: -1, stderr: `timed out waiting for the demo run in ${base}` };
    sleepSync(1000);
  }
  return JSON.parse(readFileSync(done, 'utf8')) as DemoRun;
}
