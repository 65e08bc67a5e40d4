import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from '../../src/registry/db.js';
import { SCHEMA_VERSION, MIGRATIONS } from '../../src/registry/migrations.js';
import { upsertGroup, claimNextGroup, completeGroup, failGroup, queueCounts, reprocessGroups } from '../../src/registry/queue.js';
import { registerCalSet, activeCalSet } from '../../src/registry/calibration.js';
import { DsaError } from '../../src/util/errors.js';
import { REPO, tmpDir } from '../helpers/cli.js';

const tableNames = (db: Database.Database) =>
  (db.prepare(`SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);

describe('registry schema and migrations', () => {
  it('creates every domain table from an empty file, with WAL, foreign keys and busy timeout', () => {
    const f = path.join(tmpDir(), 'db', 'p.sqlite3');
    const reg = Registry.open(f);
    expect(reg.version).toBe(SCHEMA_VERSION);
    expect(tableNames(reg.db)).toEqual(expect.arrayContaining([
      'hdf5_files', 'processing_queue', 'ms_index', 'caltables', 'images', 'mosaics', 'mosaic_members',
      'sources', 'photometry', 'variability', 'ese_candidates', 'stage_metrics',
    ]));
    expect(reg.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(reg.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(reg.db.pragma('busy_timeout', { simple: true })).toBe(30000);
    reg.close();
  });

  it('migrates a version N−1 database forward keeping its rows', () => {
    const f = path.join(tmpDir(), 'p.sqlite3');
    const old = Registry.open(f, { migrateTo: SCHEMA_VERSION - 1 });
    expect(old.version).toBe(SCHEMA_VERSION - 1);
    upsertGroup(old, { groupId: '2025-10-02T00:12:00', expected: 16, received: 16, missing: [] });
    old.db.prepare(`INSERT INTO images (path, created_at) VALUES ('/x-image.fits', 60000)`).run();
    old.close();
    const reg = Registry.open(f);
    expect(reg.version).toBe(SCHEMA_VERSION);
    expect(queueCounts(reg).pending).toBe(1);
    const cols = (reg.db.prepare(`PRAGMA table_info(images)`).all() as { name: string }[]).map((c) => c.name);
    expect(cols).toContain('deleted_at');
    const idx = (reg.db.prepare(`SELECT name FROM sqlite_master WHERE type='index' AND name='idx_queue_state'`).all());
    expect(idx).toHaveLength(1);
    reg.close();
  });

  it('refuses a database from a newer toolkit, and a corrupt file, with clear errors', () => {
    const d = tmpDir();
    const f = path.join(d, 'new.sqlite3');
    const raw = new Database(f);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    expect(() => Registry.open(f)).toThrow(/newer than this toolkit supports/);
    const bad = path.join(d, 'bad.sqlite3');
    writeFileSync(bad, 'this is not sqlite at all, just text '.repeat(200));
    expect(() => Registry.open(bad)).toThrow(DsaError);
    expect(() => Registry.open(bad)).toThrow(/not a valid SQLite database/);
    expect(() => Registry.open(path.join(d, 'missing.sqlite3'), { create: false })).toThrow(/not found/);
    expect(existsSync(path.join(d, 'missing.sqlite3'))).toBe(false);
  });

  it('has one migration per version, numbered from 1', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });
});

describe('processing queue', () => {
  it('moves collecting → pending when complete, claims oldest first, retries then fails', () => {
    const reg = Registry.open(path.join(tmpDir(), 'q.sqlite3'));
    expect(upsertGroup(reg, { groupId: 'B', expected: 16, received: 15, missing: [3] }).state).toBe('collecting');
    expect(upsertGroup(reg, { groupId: 'B', expected: 16, received: 16, missing: [] }).state).toBe('pending');
    upsertGroup(reg, { groupId: 'A', expected: 16, received: 16, missing: [] });
    const a = claimNextGroup(reg, 'w1')!;
    expect(a.group_id).toBe('A');
    expect(a.state).toBe('in_progress');
    expect(a.claimed_by).toBe('w1');
    expect(failGroup(reg, 'A', 'boom', 1)!.state).toBe('pending'); // one retry left
    expect(claimNextGroup(reg, 'w2')!.group_id).toBe('A');
    const f = failGroup(reg, 'A', 'boom again', 1)!;
    expect(f.state).toBe('failed');
    expect(f.retry_count).toBe(1);
    expect(f.error).toBe('boom again');
    expect(claimNextGroup(reg, 'w1')!.group_id).toBe('B');
    completeGroup(reg, 'B', '/ms/B.ms.zarr');
    expect(claimNextGroup(reg, 'w1')).toBeUndefined();
    const r = reprocessGroups(reg, ['A', 'B', 'Z']);
    expect(r.changed).toEqual(['A', 'B']);
    expect(r.missing).toEqual(['Z']);
    expect(queueCounts(reg)).toMatchObject({ pending: 2, failed: 0, completed: 0 });
    reg.close();
  });

  it('4 processes claiming from 1,000 pending groups take each exactly once, without SQLITE_BUSY', async () => {
    const f = path.join(tmpDir(), 'c.sqlite3');
    const reg = Registry.open(f);
    reg.write(() => {
      for (let i = 0; i < 1000; i++) upsertGroup(reg, { groupId: `G${String(i).padStart(4, '0')}`, expected: 1, received: 1, missing: [] });
    });
    reg.close();
    const worker = path.join(REPO, 'test', 'registry', 'claim-worker.mjs');
    const runs = await Promise.all([1, 2, 3, 4].map((w) => new Promise<{ claimed: string[]; errors: string[] }>((resolve, reject) => {
      const p = spawn(process.execPath, [worker, f, `w${w}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker ${w} exit ${code}: ${err}`))));
    })));
    const all = runs.flatMap((r) => r.claimed);
    expect(runs.flatMap((r) => r.errors)).toEqual([]);
    expect(all).toHaveLength(1000);
    expect(new Set(all).size).toBe(1000);
    const check = Registry.open(f);
    expect(queueCounts(check)).toMatchObject({ completed: 1000, pending: 0, in_progress: 0 });
    check.close();
  }, 120_000);
});

describe('calibration sets', () => {
  it('chooses the newest set containing the time, else the nearest within the limit', () => {
    const reg = Registry.open(path.join(tmpDir(), 'cal.sqlite3'));
    const mk = (set: string, s: number, e: number) => registerCalSet(reg, [
      { setName: set, path: `/cal/${set}.bpcal.zarr`, type: 'BP', validStartMjd: s, validEndMjd: e },
      { setName: set, path: `/cal/${set}.gpcal.zarr`, type: 'G', validStartMjd: s + 0.4, validEndMjd: e - 0.4 },
    ]);
    mk('early', 60000, 61000);
    mk('late', 60000.2, 60001.2);
    const a = activeCalSet(reg, 60000.7)!;
    expect(a.setName).toBe('late'); // both contain it; the newer start wins
    expect(a.tables.map((t) => t.type)).toEqual(['BP', 'G']);
    expect(a.distanceDays).toBe(0);
    const near = activeCalSet(reg, 60000.45, 0.5)!;
    expect(near.setName).toBe('early'); // 'late' G starts at 60000.6
    expect(activeCalSet(reg, 70000, 0.5)).toBeUndefined();
    reg.close();
  });
});
