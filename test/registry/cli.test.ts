import { describe, it, expect, beforeAll } from 'vitest';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { Registry } from '../../src/registry/db.js';
import { upsertGroup, claimNextGroup, failGroup, completeGroup } from '../../src/registry/queue.js';
import { upsertMs, upsertImage } from '../../src/registry/products.js';
import { recordStage } from '../../src/registry/metrics.js';
import { BIN, dsa110, tmpDir } from '../helpers/cli.js';

let dir: string;
let db: string;

beforeAll(() => {
  dir = tmpDir();
  db = path.join(dir, 'state', 'db', 'pipeline.sqlite3');
  const reg = Registry.open(db);
  for (const [g, n] of [['2025-10-02T00:12:00', 16], ['2025-10-02T00:17:09', 16], ['2025-10-02T00:22:18', 12], ['2025-10-02T00:27:27', 16]] as const) {
    upsertGroup(reg, { groupId: g, expected: 16, received: n, missing: n === 16 ? [] : [12, 13, 14, 15] });
  }
  claimNextGroup(reg, 'w');
  completeGroup(reg, '2025-10-02T00:12:00', '/data/ms/2025-10-02T00:12:00.ms.zarr');
  claimNextGroup(reg, 'w');
  failGroup(reg, '2025-10-02T00:17:09', 'sb03: truncated file', 0);
  upsertMs(reg, { path: '/data/ms/2025-10-02T00:12:00.ms.zarr', groupId: '2025-10-02T00:12:00', startMjd: 60950.0083, endMjd: 60950.0119, raDeg: 255.562, decDeg: 54.6065, nTimes: 24, nBaselines: 4656, nChan: 768, nPol: 2, sizeBytes: 1.4e9 });
  upsertImage(reg, { path: '/data/img/a-image.fits', ms_path: '/data/ms/2025-10-02T00:12:00.ms.zarr', group_id: '2025-10-02T00:12:00', mid_mjd: 60950.01, ra_deg: 255.5, dec_deg: 54.6, nx: 4096, ny: 4096, cell_arcsec: 3, freq_hz: 1.405e9, bandwidth_hz: 1.875e8, noise_jy: 1e-4, peak_jy: 1.2, dynamic_range: 12000, bmaj_deg: 0.004, bmin_deg: 0.003, bpa_deg: 10, pb_path: '/data/img/a-pb.fits' });
  recordStage(reg, { command: 'convert', product: 'x', seconds: 12.5, bytes: 100 });
  recordStage(reg, { command: 'image', product: 'y', seconds: 3, ok: false, error: 'bad' });
  reg.close();
});

const run = (args: string[], env: Record<string, string> = {}) => dsa110(args, { env: { PIPELINE_STATE_DIR: path.join(dir, 'state'), ...env } });

describe('dsa110 registry', () => {
  it('init creates a database at the configured path and prints it (option > env > default)', () => {
    const d = tmpDir();
    const r1 = dsa110(['registry', 'init'], { cwd: d, env: { PIPELINE_STATE_DIR: '', PIPELINE_DB: '' } });
    expect(r1.code).toBe(0);
    expect(r1.stdout.trim()).toBe(path.join(d, 'state', 'db', 'pipeline.sqlite3'));
    const r2 = dsa110(['registry', 'init'], { cwd: d, env: { PIPELINE_DB: path.join(d, 'env.db') } });
    expect(r2.stdout.trim()).toBe(path.join(d, 'env.db'));
    const r3 = dsa110(['--db', path.join(d, 'opt.db'), 'registry', 'init'], { cwd: d, env: { PIPELINE_DB: path.join(d, 'env.db') } });
    expect(r3.stdout.trim()).toBe(path.join(d, 'opt.db'));
    expect(existsSync(path.join(d, 'opt.db'))).toBe(true);
  });

  it('status reports queue counts, products and free disk', () => {
    const r = run(['registry', 'status', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.queue).toEqual({ collecting: 1, pending: 1, in_progress: 0, completed: 1, failed: 1 });
    expect(s.counts.ms).toBe(1);
    expect(s.counts.images).toBe(1);
    expect(s.freeBytes).toBeGreaterThan(0);
    const t = run(['registry', 'status']);
    expect(t.stdout).toMatch(/queue\s+collecting 1, pending 1, in_progress 0, completed 1, failed 1/);
  });

  it('list filters by state and time and prints paths, JSON lines or CSV', () => {
    expect(run(['registry', 'list', 'groups', '--state', 'failed']).stdout.trim()).toBe('2025-10-02T00:17:09');
    expect(run(['registry', 'list', 'groups', '--since', '2025-10-02T00:20:00']).stdout.trim().split('\n')).toEqual(['2025-10-02T00:22:18', '2025-10-02T00:27:27']);
    expect(run(['registry', 'list', 'groups', '--limit', '1']).stdout.trim()).toBe('2025-10-02T00:12:00');
    expect(run(['registry', 'list', 'ms', '--since', '60950', '--until', '60950.02']).stdout.trim()).toBe('/data/ms/2025-10-02T00:12:00.ms.zarr');
    expect(run(['registry', 'list', 'ms', '--since', '60951']).stdout.trim()).toBe('');
    const j = run(['registry', 'list', 'images', '--json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(j).toHaveLength(1);
    expect(j[0]).toMatchObject({ kind: 'images', path: '/data/img/a-image.fits', noise_jy: 1e-4, nx: 4096 });
    const csv = run(['registry', 'list', 'groups', '--csv']).stdout.trim().split('\n');
    expect(csv[0]!.split(',')).toContain('state');
    expect(csv).toHaveLength(5);
  });

  it('show finds a row by path or group id; unknown rows exit 1', () => {
    const r = run(['registry', 'show', 'groups', '2025-10-02T00:17:09', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'failed', error: 'sb03: truncated file' });
    const m = run(['registry', 'show', 'ms', '/data/ms/2025-10-02T00:12:00.ms.zarr']);
    expect(m.stdout).toMatch(/n_baselines\s+4656/);
    const x = run(['registry', 'show', 'ms', '/nope.ms.zarr']);
    expect(x.code).toBe(1);
    expect(x.stderr).toMatch(/no ms row matches '\/nope\.ms\.zarr'/);
  });

  it('reprocess puts failed groups back to pending; unknown or busy groups give exit 1/3', () => {
    const r = run(['registry', 'reprocess', '2025-10-02T00:17:09']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('2025-10-02T00:17:09');
    expect(run(['registry', 'list', 'groups', '--state', 'failed']).stdout.trim()).toBe('');
    const p = run(['registry', 'reprocess', '2025-10-02T00:12:00', 'NOPE']);
    expect(p.code).toBe(3);
    expect(p.stderr).toMatch(/NOPE: no such group/);
    expect(run(['registry', 'reprocess', 'NOPE']).code).toBe(1);
  });

  it('caltables register / active / retire manage sets by hand', () => {
    const reg = run(['registry', 'caltables', 'register', '/cal/c1.bpcal.zarr', '/cal/c1.gpcal.zarr', '--set', 'c1', '--valid-start', '2025-10-02T00:00:00', '--valid-end', '2025-10-02T12:00:00', '--refant', 'DSA-023']);
    expect(reg.code).toBe(0);
    expect(reg.stdout.trim().split('\n')).toEqual(['/cal/c1.bpcal.zarr', '/cal/c1.gpcal.zarr']);
    const act = run(['registry', 'caltables', 'active', '--mjd', '2025-10-02T06:00:00', '--json']);
    expect(act.code).toBe(0);
    const rows = act.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r: { type: string }) => r.type)).toEqual(['BP', 'G']);
    expect(rows[0].refant).toBe('DSA-023');
    expect(run(['registry', 'caltables', 'retire', 'c1']).code).toBe(0);
    const none = run(['registry', 'caltables', 'active', '--mjd', '2025-10-02T06:00:00']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no active calibration set/);
    const bad = run(['registry', 'caltables', 'register', '/cal/x.zarr', '--set', 's', '--valid-start', '60000', '--valid-end', '60001']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot tell the caltable type/);
  });

  it('metrics prints Prometheus text and writes a textfile atomically', () => {
    const r = run(['registry', 'metrics']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# HELP dsa110_queue_groups /m);
    expect(r.stdout).toMatch(/^dsa110_queue_groups\{state="collecting"\} 1$/m);
    expect(r.stdout).toMatch(/^dsa110_products\{kind="image"\} 1$/m);
    expect(r.stdout).toMatch(/^dsa110_stage_failures_total\{command="image"\} 1$/m);
    expect(r.stdout).toMatch(/^dsa110_state_dir_free_bytes\{path="[^"]+"\} \d+/m);
    const out = path.join(dir, 'textfile', 'dsa110.prom');
    expect(run(['registry', 'metrics', '--output', out]).code).toBe(0);
    const noDisk = (t: string) => t.replace(/^dsa110_state_dir_free_bytes.*$/m, '');
    expect(noDisk(readFileSync(out, 'utf8'))).toBe(noDisk(run(['registry', 'metrics']).stdout));
  });

  it('metrics --serve answers /metrics, /health and /ready on loopback', async () => {
    const p = spawn(process.execPath, [BIN, 'registry', 'metrics', '--serve', '0'], { env: { ...process.env, PIPELINE_STATE_DIR: path.join(dir, 'state') } });
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      p.stdout.on('data', (d) => { buf += d; const m = /http:\/\/\S+\/metrics/.exec(buf); if (m) resolve(m[0]); });
      p.on('exit', (c) => reject(new Error('exited ' + c)));
    });
    const get = (u: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      http.get(u, (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b })); }).on('error', reject);
    });
    const m = await get(url);
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/dsa110_queue_groups\{state="pending"\}/);
    expect((await get(url.replace('/metrics', '/health'))).status).toBe(200);
    expect((await get(url.replace('/metrics', '/ready'))).body).toBe('ready\n');
    expect((await get(url.replace('/metrics', '/nope'))).status).toBe(404);
    const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    p.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('bad arguments exit 2 with one line naming the problem', () => {
    for (const args of [['registry', 'list', 'nonsense'], ['registry', 'list', 'ms', '--bogus'], ['registry', 'list', 'ms', '--limit', '0'], ['registry', 'list', 'ms', '--since', 'yesterday-ish'], ['registry', 'frobnicate']]) {
      const r = run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    }
    expect(run(['registry', 'list', 'ms', '--bogus']).stderr).toMatch(/unknown option '--bogus'/);
  });

  it('a missing or corrupt database file exits 1 with a clear message', () => {
    const d = tmpDir();
    const missing = dsa110(['--db', path.join(d, 'none.sqlite3'), 'registry', 'status']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/none\.sqlite3: registry database not found/);
    const bad = path.join(d, 'bad.sqlite3');
    writeFileSync(bad, 'garbage '.repeat(1000));
    const corrupt = dsa110(['--db', bad, 'registry', 'list', 'ms']);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/bad\.sqlite3: file is not a valid SQLite database/);
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--help and --version exit 0', () => {
    expect(dsa110(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = dsa110(['registry', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/reprocess/);
  });
});
