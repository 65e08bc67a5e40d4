/**
 * Fault test of the streaming system `dsa110 convert --watch | scripts/dsa110-pipeline`: kill
 * (SIGKILL, the whole process group) while convert writes a group, restart, kill again while the
 * pipeline script images, restart once more to the end. Every group must end completed exactly
 * once, with exactly one measurement set and one image set, every product registered, and nothing
 * partial left: no temporary siblings anywhere, no half-written MS or FITS, no unregistered files.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BIN, REPO, tmpDir } from '../helpers/cli.js';
import { TEMP_PATTERN } from '../../src/util/atomic.js';
import { openMs } from '../../src/io/ms.js';

const PIPELINE = path.join(REPO, 'scripts', 'dsa110-pipeline');
let work: string;
let env: Record<string, string>;
const dirs = { incoming: '', ms: '', images: '', cal: '' };
const GROUPS = 2;

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `convert --watch … | dsa110-pipeline` in its own process group (so one kill takes both). */
function startStream(once: boolean): ChildProcess & { log: () => string } {
  const conv = [process.execPath, BIN, 'convert', '--watch', dirs.incoming, '-o', dirs.ms, '--poll-interval', '0.1', '--settle', '0', ...(once ? ['--once'] : [])]
    .map((a) => `'${a}'`).join(' ');
  const child = spawn('bash', ['-c', `${conv} | '${PIPELINE}'`], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  child.stdout!.on('data', () => undefined);
  return Object.assign(child, { log: () => err });
}

function killGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { resolve(); }
  });
}

/** Command lines of the processes in a process group (Linux /proc). */
function groupCommands(pgid: number): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue; // field 5 of stat: process group
      out.push(readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' '));
    } catch { /* process gone */ }
  }
  return out;
}

async function waitFor(what: string, cond: () => boolean, child: { log: () => string }, timeoutMs = 30_000, stepMs = 2): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}; stream log:\n${child.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Every path under root (files and directories), relative. */
function walk(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    out.push(r);
    if (e.isDirectory()) out.push(...walk(root, r));
  }
  return out;
}

const tempsIn = (dir: string): string[] => (existsSync(dir) ? walk(dir).filter((r) => TEMP_PATTERN.test(path.basename(r))) : []);

beforeAll(() => {
  work = tmpDir('dsa110-fault-');
  for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) dirs[k] = path.join(work, k);
  env = {
    ...(process.env as Record<string, string>), NO_COLOR: '1',
    PIPELINE_STATE_DIR: path.join(work, 'state'), PIPELINE_DB: path.join(work, 'state', 'db', 'pipeline.sqlite3'),
    DSA110: BIN, DSA110_IMAGE_DIR: dirs.images, DSA110_CAL_DIR: dirs.cal,
    DSA110_IMAGE_ARGS: '--size 256 --niter 100',
  };
  // Big enough that writing a group takes a while (so it can be caught mid-write), small enough
  // for CI: 20 antennas, 16 subbands × 4 channels, 24 integrations (~3 MB of visibilities a group).
  const sim = cli(['simulate', '--out', dirs.incoming, '--antennas', '20', '--antenna-selection', 'spread', '--subbands', '16',
    '--channels-per-subband', '4', '--integrations', '24', '--groups', String(GROUPS), '--nsrc', '3', '--seed', '5', '--start', '2025-06-01T10:00:00']);
  expect(sim.code, sim.stderr).toBe(0);
  expect(cli(['registry', 'init']).code).toBe(0);
}, 60_000);

afterAll(() => {
  if (work && !process.env.KEEP_FAULT_TEST) rmSync(work, { recursive: true, force: true });
});

describe('killing convert --watch and the pipeline script mid-group, then restarting', () => {
  it('ends with every group completed exactly once and no partial product', async () => {
    // 1. Kill everything while convert writes the first group (its temp sibling exists).
    const s1 = startStream(false);
    await waitFor('convert writing a group', () => tempsIn(dirs.ms).length > 0, s1);
    await killGroup(s1);
    const db = (): Database.Database => new Database(env.PIPELINE_DB, { readonly: true });
    {
      const d = db();
      const st = d.prepare(`SELECT state, COUNT(*) n FROM processing_queue GROUP BY state`).all() as { state: string; n: number }[];
      d.close();
      expect(st.find((r) => r.state === 'in_progress')?.n, 'the killed group is left claimed').toBe(1);
    }
    expect(tempsIn(dirs.ms).length, 'the half-written MS is a temp sibling, never the final name').toBeGreaterThan(0);
    expect(readdirSync(dirs.ms).filter((n) => !n.startsWith('.'))).toEqual([]);

    // 2. Restart; kill everything while the pipeline script is imaging (after flag, calibrate, apply).
    const s2 = startStream(false);
    let imagingSince = 0;
    await waitFor('the pipeline imaging a group', () => {
      const imaging = groupCommands(s2.pid!).some((c) => / image --output-dir /.test(c));
      if (!imaging) { imagingSince = 0; return false; }
      imagingSince ||= Date.now();
      return Date.now() - imagingSince > 300; // well into the image command
    }, s2, 60_000, 5);
    await killGroup(s2);
    {
      const d = db();
      const images = (d.prepare(`SELECT COUNT(*) n FROM images`).get() as { n: number }).n;
      d.close();
      expect(images, 'killed before the first image was registered').toBe(0);
    }

    // 3. Restart and let it run to the end (convert --once exits when nothing is left; the
    //    pipeline script then reaches the end of its input).
    const s3 = startStream(true);
    const code = await new Promise<number | null>((resolve) => s3.once('exit', (c) => resolve(c)));
    expect(code, s3.log().slice(-3000)).toBe(0);

    const d = db();
    const queue = d.prepare(`SELECT group_id, state, ms_path FROM processing_queue ORDER BY group_id`).all() as { group_id: string; state: string; ms_path: string }[];
    const ms = d.prepare(`SELECT path, group_id, status FROM ms_index ORDER BY path`).all() as { path: string; group_id: string; status: string }[];
    const images = d.prepare(`SELECT path, ms_path, pb_path FROM images ORDER BY path`).all() as { path: string; ms_path: string; pb_path: string }[];
    const convertOk = d.prepare(`SELECT product, COUNT(*) n FROM stage_metrics WHERE command='convert' AND stage='total' AND ok=1 GROUP BY product`).all() as { product: string; n: number }[];
    const imageOk = d.prepare(`SELECT product, COUNT(*) n FROM stage_metrics WHERE command='image' AND stage='total' AND ok=1 GROUP BY product`).all() as { product: string; n: number }[];
    d.close();

    // every group completed, once
    expect(queue).toHaveLength(GROUPS);
    for (const q of queue) expect(q.state, q.group_id).toBe('completed');
    expect(convertOk).toHaveLength(GROUPS);
    for (const c of convertOk) expect(c.n, `${c.product} converted more than once`).toBe(1);
    // one MS per group, registered, imaged, and nothing else in the MS directory
    expect(ms.map((m) => m.path).sort()).toEqual(queue.map((q) => q.ms_path).sort());
    for (const m of ms) expect(m.status, m.path).toBe('imaged');
    expect(readdirSync(dirs.ms).sort()).toEqual(ms.map((m) => path.basename(m.path)).sort());
    // one image set per MS, registered once, and nothing else in the image directory
    expect(images.map((i) => i.ms_path).sort()).toEqual(ms.map((m) => m.path).sort());
    expect(imageOk).toHaveLength(GROUPS);
    for (const c of imageOk) expect(c.n, `${c.product} imaged more than once`).toBe(1);
    const expected = images.flatMap((i) => {
      const stem = path.basename(i.path).replace(/-image\.fits$/, '');
      return ['-image.fits', '-image-pb.fits', '-residual.fits', '-model.fits', '-psf.fits', '-pb.fits', '-image.png'].map((s) => stem + s);
    });
    expect(readdirSync(dirs.images).sort()).toEqual(expected.sort());
    for (const f of expected) expect(statSync(path.join(dirs.images, f)).size, f).toBeGreaterThan(0);
    // no temporary sibling or swap leftover anywhere (inside the tables too)
    expect(tempsIn(work)).toEqual([]);
    // the measurement sets open and are complete
    for (const m of ms) {
      const t = await openMs(m.path);
      expect(t.meta.nTimes, m.path).toBe(24);
      expect(t.meta.nChan, m.path).toBe(64);
    }
  }, 120_000);
});
