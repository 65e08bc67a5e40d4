import { describe, it, expect, beforeAll } from 'vitest';
import { mkdirSync, writeFileSync, existsSync, readFileSync, readdirSync, utimesSync, lstatSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Registry, mjdNow } from '../../src/registry/db.js';
import { upsertGroup, getGroup, upsertFile } from '../../src/registry/queue.js';
import { upsertMs, upsertImage, updateMs, getMs } from '../../src/registry/products.js';
import { registerCalSet } from '../../src/registry/calibration.js';
import { pidAlive } from '../../src/util/atomic.js';
import { recoverQueue } from '../../src/ops/queue-recovery.js';
import { cleanupFiles, fitsProblem } from '../../src/ops/cleanup.js';
import { planRetention, applyRetention, parseRetention } from '../../src/ops/retention.js';
import { checkDisk, diskPauseFlagPath, freeBytesFor, parseFakeFree } from '../../src/ops/disk.js';
import { integrityCheck } from '../../src/ops/database.js';
import { registeredLookup } from '../../src/ops/housekeep.js';
import { dsa110, tmpDir } from '../helpers/cli.js';

const HOUR = 3600;
const DAY = 86400;

/** Set the mtime (and atime) of p and everything beneath it to `ageS` seconds ago. */
function age(p: string, ageS: number): void {
  const t = (Date.now() - ageS * 1000) / 1000;
  const st = lstatSync(p);
  if (st.isDirectory()) for (const n of readdirSync(p)) age(path.join(p, n), ageS);
  utimesSync(p, t, t);
}

/** A pid that has just exited, so no process has it (checked by the caller). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

function mkTree(root: string, files: Record<string, string>): void {
  mkdirSync(root, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
}

/** A primary-HDU FITS file: 100×100 BITPIX −32 → 2880-byte header + 40000 data bytes (+ padding). */
function fitsBytes(dataBytes: number): Buffer {
  const cards = ['SIMPLE  =                    T', 'BITPIX  =                  -32', 'NAXIS   =                    2',
    'NAXIS1  =                  100', 'NAXIS2  =                  100', 'END'];
  const header = Buffer.alloc(2880, ' ');
  cards.forEach((c, i) => header.write(c.padEnd(80), i * 80, 'latin1'));
  return Buffer.concat([header, Buffer.alloc(dataBytes)]);
}

const MS_ATTRS = JSON.stringify({ dsa110_ms_format: 1, telescope: 'DSA_110' });

describe('queue recovery', () => {
  let reg: Registry;
  beforeAll(() => {
    reg = Registry.open(path.join(tmpDir(), 'q.sqlite3'));
    const now = mjdNow();
    for (const g of ['A', 'B', 'C']) upsertGroup(reg, { groupId: g, expected: 16, received: 16, missing: [] });
    upsertGroup(reg, { groupId: 'D', expected: 16, received: 12, missing: [12, 13, 14, 15] });
    upsertGroup(reg, { groupId: 'E', expected: 16, received: 15, missing: [7] });
    const set = reg.db.prepare(`UPDATE processing_queue SET state=?, retry_count=?, claimed_by=?, updated_at=?, created_at=? WHERE group_id=?`);
    set.run('in_progress', 0, 'otherhost:1', now - 2 / 24, now - 3 / 24, 'A'); // idle 2 h
    set.run('in_progress', 3, 'otherhost:2', now - 2 / 24, now - 3 / 24, 'B'); // idle 2 h, retries used up
    set.run('in_progress', 1, 'otherhost:3', now - 10 / 1440, now - 1 / 24, 'C'); // idle 10 min
    set.run('collecting', 0, null, now - 2, now - 2, 'D'); // 2 days old
    set.run('collecting', 0, null, now - 1 / 24, now - 1 / 24, 'E'); // 1 h old
  });

  const opts = { inProgressTimeoutS: HOUR, collectingTimeoutS: DAY, maxRetries: 3 };

  it('a dry run reports the same actions and changes nothing', () => {
    const before = reg.db.prepare('SELECT * FROM processing_queue ORDER BY group_id').all();
    const acts = recoverQueue(reg, { ...opts, dryRun: true });
    expect(acts.map((a) => [a.action, a.subject])).toEqual([['requeue', 'A'], ['fail-stale', 'B'], ['fail-collecting', 'D']]);
    expect(acts.every((a) => a.dry_run)).toBe(true);
    expect(reg.db.prepare('SELECT * FROM processing_queue ORDER BY group_id').all()).toEqual(before);
  });

  it('stale in_progress → pending with retry+1; at max retries → failed; old collecting → failed naming the missing subbands', () => {
    const acts = recoverQueue(reg, opts);
    expect(acts.map((a) => a.action)).toEqual(['requeue', 'fail-stale', 'fail-collecting']);
    const A = getGroup(reg, 'A')!;
    expect([A.state, A.retry_count, A.claimed_by]).toEqual(['pending', 1, null]);
    expect(A.error).toMatch(/no progress for 7200 s/);
    const B = getGroup(reg, 'B')!;
    expect([B.state, B.retry_count]).toEqual(['failed', 3]);
    expect(B.error).toMatch(/retries exhausted \(3\/3\)/);
    expect(getGroup(reg, 'C')!.state).toBe('in_progress');
    const D = getGroup(reg, 'D')!;
    expect(D.state).toBe('failed');
    expect(D.error).toBe('incomplete after 48.0 h: 12 of 16 subbands; missing sb12, sb13, sb14, sb15');
    expect(getGroup(reg, 'E')!.state).toBe('collecting');
    // Idempotent: a second run finds nothing.
    expect(recoverQueue(reg, opts)).toEqual([]);
  });
});

describe('cleanup of temporaries, scratch and partial products', () => {
  let root: string;
  let ms: string;
  let img: string;
  let scratch: string;
  let dead: number;
  let reg: Registry;
  const hex = 'abcdef012345';

  beforeAll(() => {
    root = tmpDir();
    ms = path.join(root, 'ms');
    img = path.join(root, 'images');
    scratch = path.join(root, 'state', 'scratch');
    dead = deadPid();
    expect(pidAlive(dead)).toBe(false);
    const me = process.pid;
    // Stale temp of a dead writer (idle 1 h > 300 s grace) → removed.
    mkTree(path.join(ms, `.a.ms.zarr.tmp-${dead}-${hex}`), { 'DATA/0.0.0.0': 'x'.repeat(1000) });
    age(path.join(ms, `.a.ms.zarr.tmp-${dead}-${hex}`), HOUR);
    // Dead writer but fresh (within grace: maybe another host's live writer) → kept.
    mkTree(path.join(ms, `.b.ms.zarr.tmp-${dead}-${hex}`), { x: '1' });
    // Our own (live) temp, fresh and 1 h idle → kept; 2 days idle → removed (age rule).
    mkTree(path.join(ms, `.c.ms.zarr.tmp-${me}-${hex}`), { x: '1' });
    mkTree(path.join(ms, `.d.ms.zarr.tmp-${me}-${hex}`), { x: '1' });
    age(path.join(ms, `.d.ms.zarr.tmp-${me}-${hex}`), HOUR);
    mkTree(path.join(ms, `.e.ms.zarr.tmp-${me}-${hex}`), { x: '1' });
    age(path.join(ms, `.e.ms.zarr.tmp-${me}-${hex}`), 2 * DAY);
    // Crash mid-swap: final missing, .old of a dead writer → restored, content intact.
    mkTree(path.join(ms, `.f.ms.zarr.old-${dead}-${hex}`), { '.zattrs': MS_ATTRS, 'DATA/0.0.0.0': 'old-data' });
    mkTree(path.join(ms, `.f.ms.zarr.tmp-${dead}-${hex}`), { '.zattrs': MS_ATTRS });
    age(path.join(ms, `.f.ms.zarr.old-${dead}-${hex}`), HOUR);
    age(path.join(ms, `.f.ms.zarr.tmp-${dead}-${hex}`), HOUR);
    // A live writer mid-swap (its fresh .old, final missing) → left alone, not restored.
    mkTree(path.join(ms, `.i.ms.zarr.old-${me}-${hex}`), { '.zattrs': MS_ATTRS });
    // Final present, stale .old → removed.
    mkTree(path.join(ms, 'g.ms.zarr'), { '.zattrs': MS_ATTRS });
    mkTree(path.join(ms, `.g.ms.zarr.old-${dead}-${hex}`), { '.zattrs': MS_ATTRS });
    age(path.join(ms, `.g.ms.zarr.old-${dead}-${hex}`), HOUR);
    // Column swap crash inside an MS: DATA missing, .DATA.old → restored.
    mkTree(path.join(ms, 'h.ms.zarr'), { '.zattrs': MS_ATTRS, [`.DATA.old-${dead}-${hex}/.zarray`]: '{}', 'FLAG/.zarray': '{}' });
    age(path.join(ms, 'h.ms.zarr'), HOUR);
    // Orphans: no format marker, unregistered, 2 days idle → removed; registered / valid / fresh → kept.
    mkTree(path.join(ms, 'orphan.ms.zarr'), { 'DATA/0.0.0.0': 'partial' });
    age(path.join(ms, 'orphan.ms.zarr'), 2 * DAY);
    mkTree(path.join(ms, 'registered.ms.zarr'), { 'DATA/0.0.0.0': 'partial' });
    age(path.join(ms, 'registered.ms.zarr'), 2 * DAY);
    mkTree(path.join(ms, 'valid.ms.zarr'), { '.zattrs': MS_ATTRS });
    age(path.join(ms, 'valid.ms.zarr'), 2 * DAY);
    mkTree(path.join(ms, 'fresh.ms.zarr'), { 'DATA/0.0.0.0': 'partial' });
    // FITS: truncated (header + 1000 of 40000 data bytes) → removed unless registered; complete → kept.
    mkdirSync(img, { recursive: true });
    writeFileSync(path.join(img, 'trunc-image.fits'), fitsBytes(1000));
    writeFileSync(path.join(img, 'trunc2-image.fits'), fitsBytes(1000));
    writeFileSync(path.join(img, 'whole-image.fits'), fitsBytes(40000 + 320));
    writeFileSync(path.join(img, 'notes.fits'), 'not a fits file at all, and not ours to judge');
    for (const f of readdirSync(img)) age(path.join(img, f), 2 * DAY);
    // Scratch: idle 2 days → removed; fresh → kept.
    mkTree(path.join(scratch, 'job-old'), { 'a/b': 'x' });
    age(path.join(scratch, 'job-old'), 2 * DAY);
    mkTree(path.join(scratch, 'job-new'), { 'a/b': 'x' });

    reg = Registry.open(path.join(root, 'state', 'db', 'pipeline.sqlite3'));
    upsertMs(reg, { path: path.join(ms, 'registered.ms.zarr'), groupId: 'r', startMjd: 60950, endMjd: 60950.01, raDeg: 0, decDeg: 0, nTimes: 1, nBaselines: 1, nChan: 1, nPol: 1, sizeBytes: 1 });
    upsertImage(reg, { path: path.join(img, 'trunc2-image.fits'), ms_path: null, group_id: null, mid_mjd: 60950, ra_deg: 0, dec_deg: 0, nx: 100, ny: 100, cell_arcsec: 3, freq_hz: 1.4e9, bandwidth_hz: 1e8, noise_jy: null, peak_jy: null, dynamic_range: null, bmaj_deg: null, bmin_deg: null, bpa_deg: null, pb_path: null });
  });

  it('fitsProblem judges completeness from the header', () => {
    expect(fitsProblem(path.join(img, 'trunc-image.fits'))).toBe('truncated: 3880 bytes, header declares 42880');
    expect(fitsProblem(path.join(img, 'whole-image.fits'))).toBeUndefined();
    expect(fitsProblem(path.join(img, 'notes.fits'))).toBeUndefined();
  });

  it('dry run lists, then the real run removes stale temps, restores .old siblings, and keeps live ones', async () => {
    const o = { dirs: [ms, img, path.join(root, 'state')], scratchDirs: [scratch], tempAgeS: DAY, deadPidGraceS: 300, isRegistered: registeredLookup(reg) };
    const dry = await cleanupFiles({ ...o, dryRun: true });
    expect(dry.length).toBeGreaterThan(0);
    expect(existsSync(path.join(ms, `.a.ms.zarr.tmp-${dead}-${hex}`))).toBe(true);
    expect(existsSync(path.join(ms, 'f.ms.zarr'))).toBe(false);

    const acts = await cleanupFiles(o);
    const got = acts.map((a) => `${a.action} ${path.relative(root, a.subject)}`).sort();
    expect(got).toEqual([
      `remove-orphan images/trunc-image.fits`,
      `remove-orphan ms/orphan.ms.zarr`,
      `remove-scratch state/scratch/job-old`,
      `remove-temp ms/.a.ms.zarr.tmp-${dead}-${hex}`,
      `remove-temp ms/.e.ms.zarr.tmp-${process.pid}-${hex}`,
      `remove-temp ms/.f.ms.zarr.tmp-${dead}-${hex}`,
      `remove-temp ms/.g.ms.zarr.old-${dead}-${hex}`,
      `restore-old ms/f.ms.zarr`,
      `restore-old ms/h.ms.zarr/DATA`,
    ]);
    expect(dry.map((a) => `${a.action} ${a.subject}`).sort()).toEqual(acts.map((a) => `${a.action} ${a.subject}`).sort());
    expect(acts.every((a) => a.ok)).toBe(true);
    const a = acts.find((x) => x.subject.includes('.a.ms.zarr'))!;
    expect(a.bytes).toBe(1000);
    // Restored content is the old product, intact.
    expect(readFileSync(path.join(ms, 'f.ms.zarr', 'DATA', '0.0.0.0'), 'utf8')).toBe('old-data');
    expect(existsSync(path.join(ms, 'h.ms.zarr', 'DATA', '.zarray'))).toBe(true);
    // Kept.
    for (const k of [`.b.ms.zarr.tmp-${dead}-${hex}`, `.c.ms.zarr.tmp-${process.pid}-${hex}`, `.d.ms.zarr.tmp-${process.pid}-${hex}`,
      `.i.ms.zarr.old-${process.pid}-${hex}`, 'g.ms.zarr', 'registered.ms.zarr', 'valid.ms.zarr', 'fresh.ms.zarr']) {
      expect(existsSync(path.join(ms, k)), k).toBe(true);
    }
    for (const k of ['trunc2-image.fits', 'whole-image.fits', 'notes.fits']) expect(existsSync(path.join(img, k)), k).toBe(true);
    expect(existsSync(path.join(ms, 'i.ms.zarr'))).toBe(false);
    expect(existsSync(path.join(scratch, 'job-new'))).toBe(true);
    // Nothing left to do.
    expect(await cleanupFiles(o)).toEqual([]);
  });
});

describe('retention', () => {
  let root: string;
  let reg: Registry;
  const now = mjdNow();
  const P = (...p: string[]) => path.join(root, ...p);

  beforeAll(() => {
    root = tmpDir();
    reg = Registry.open(P('state', 'db', 'pipeline.sqlite3'));
    const msRow = (name: string, createdDaysAgo: number, calSet: string | null) => {
      mkTree(P('ms', name), { '.zattrs': MS_ATTRS, 'DATA/0.0.0.0': 'x'.repeat(100) });
      upsertMs(reg, { path: P('ms', name), groupId: name, startMjd: 60950, endMjd: 60950.01, raDeg: 0, decDeg: 0, nTimes: 1, nBaselines: 1, nChan: 1, nPol: 1, sizeBytes: 100 });
      if (calSet) updateMs(reg, P('ms', name), { cal_set: calSet });
      reg.db.prepare('UPDATE ms_index SET created_at = ? WHERE path = ?').run(now - createdDaysAgo, P('ms', name));
    };
    const calSet = (name: string, createdDaysAgo: number, validStart: number, status: 'active' | 'retired' = 'active') => {
      const tables = (['kcal', 'bpcal'] as const).map((t) => {
        mkTree(P('cal', `${name}.${t}.zarr`), { '.zattrs': '{"dsa110_caltable_format":1}' });
        return { setName: name, path: P('cal', `${name}.${t}.zarr`), type: (t === 'kcal' ? 'K' : 'BP') as 'K' | 'BP', validStartMjd: validStart, validEndMjd: validStart + 1, status };
      });
      registerCalSet(reg, tables);
      reg.db.prepare('UPDATE caltables SET created_at = ? WHERE set_name = ?').run(now - createdDaysAgo, name);
    };
    calSet('setOld', 40, 60900);          // old, unreferenced → deleted
    calSet('setUsed', 40, 60901);         // old, referenced by a kept MS → kept
    calSet('setOfOldMs', 40, 60902);      // old, referenced only by an MS being deleted → deleted
    calSet('setNewest', 40, 60950);       // old but the newest active set → kept
    calSet('setRetiredNewer', 40, 60960, 'retired'); // newer but not active: not "in use"
    msRow('old.ms.zarr', 40, 'setOfOldMs');  // → deleted
    msRow('new.ms.zarr', 1, 'setUsed');      // kept
    for (const [name, daysAgo] of [['old', 40], ['new', 1]] as const) {
      mkdirSync(P('images'), { recursive: true });
      for (const s of ['image', 'pb', 'residual']) writeFileSync(P('images', `${name}-${s}.fits`), 'F');
      upsertImage(reg, { path: P('images', `${name}-image.fits`), ms_path: null, group_id: null, mid_mjd: 60950, ra_deg: 0, dec_deg: 0, nx: 1, ny: 1, cell_arcsec: 1, freq_hz: 1, bandwidth_hz: 1, noise_jy: null, peak_jy: null, dynamic_range: null, bmaj_deg: null, bmin_deg: null, bpa_deg: null, pb_path: P('images', `${name}-pb.fits`) });
      reg.db.prepare('UPDATE images SET created_at = ? WHERE path = ?').run(now - daysAgo, P('images', `${name}-image.fits`));
    }
    mkdirSync(P('incoming'), { recursive: true });
    for (const [name, status] of [['conv_sb00.hdf5', 'converted'], ['pend_sb00.hdf5', 'indexed']] as const) {
      writeFileSync(P('incoming', name), 'H'.repeat(50));
      upsertFile(reg, { path: P('incoming', name), groupId: 'g', subband: 0, timestampMjd: 60900, size: 50, mtime: 0, status });
    }
    reg.db.prepare('UPDATE hdf5_files SET indexed_at = ?').run(now - 10);
  });

  it('parses KIND=DAYS and rejects unknown kinds', () => {
    expect(parseRetention('ms=30', parseRetention('hdf5=7'))).toEqual({ hdf5: 7, ms: 30 });
    expect(() => parseRetention('foo=3')).toThrow(/unknown kind 'foo'/);
    expect(() => parseRetention('ms')).toThrow(/KIND=DAYS/);
  });

  it('dry run lists candidates and touches nothing; apply deletes files and marks rows, keeping the calibration in use', async () => {
    const policy = { ms: 30, images: 30, caltables: 30, hdf5: 7 };
    const plan = planRetention(reg, policy, now);
    expect(plan.protectedSets).toEqual(['setNewest', 'setUsed']);
    const dry = await applyRetention(reg, plan, false, now);
    const subjects = dry.map((a) => path.relative(root, a.subject)).sort();
    expect(subjects).toEqual([
      'cal/setOfOldMs.bpcal.zarr', 'cal/setOfOldMs.kcal.zarr', 'cal/setOld.bpcal.zarr', 'cal/setOld.kcal.zarr',
      'cal/setRetiredNewer.bpcal.zarr', 'cal/setRetiredNewer.kcal.zarr',
      'images/old-image.fits', 'incoming/conv_sb00.hdf5', 'ms/old.ms.zarr',
    ]);
    expect(dry.every((a) => a.action === 'retention-candidate' && a.dry_run)).toBe(true);
    expect(dry.find((a) => a.subject.endsWith('old.ms.zarr'))!.bytes).toBe(MS_ATTRS.length + 100);
    expect(existsSync(P('ms', 'old.ms.zarr'))).toBe(true);
    expect(getMs(reg, P('ms', 'old.ms.zarr'))!.deleted_at).toBeNull();

    const done = await applyRetention(reg, plan, true, now);
    expect(done.every((a) => a.ok && a.action === 'retention-delete' && !a.dry_run)).toBe(true);
    for (const gone of ['ms/old.ms.zarr', 'images/old-image.fits', 'images/old-pb.fits', 'images/old-residual.fits', 'incoming/conv_sb00.hdf5',
      'cal/setOld.kcal.zarr', 'cal/setOfOldMs.bpcal.zarr']) {
      expect(existsSync(P(gone)), gone).toBe(false);
    }
    for (const kept of ['ms/new.ms.zarr', 'images/new-image.fits', 'images/new-pb.fits', 'incoming/pend_sb00.hdf5',
      'cal/setUsed.kcal.zarr', 'cal/setNewest.kcal.zarr', 'cal/setNewest.bpcal.zarr']) {
      expect(existsSync(P(kept)), kept).toBe(true);
    }
    const old = getMs(reg, P('ms', 'old.ms.zarr'))!;
    expect(old.status).toBe('deleted');
    expect(old.deleted_at).toBeCloseTo(now, 9);
    expect(getMs(reg, P('ms', 'new.ms.zarr'))!.deleted_at).toBeNull();
    expect(reg.db.prepare(`SELECT status, deleted_at FROM images WHERE path = ?`).get(P('images', 'old-image.fits'))).toEqual({ status: 'deleted', deleted_at: now });
    expect(reg.db.prepare(`SELECT status FROM hdf5_files ORDER BY path`).all()).toEqual([{ status: 'deleted' }, { status: 'indexed' }]);
    const cal = reg.db.prepare(`SELECT set_name, COUNT(*) n, SUM(deleted_at IS NOT NULL) d FROM caltables GROUP BY set_name ORDER BY set_name`).all();
    expect(cal).toEqual([
      { set_name: 'setNewest', n: 2, d: 0 }, { set_name: 'setOfOldMs', n: 2, d: 2 }, { set_name: 'setOld', n: 2, d: 2 },
      { set_name: 'setRetiredNewer', n: 2, d: 2 }, { set_name: 'setUsed', n: 2, d: 0 },
    ]);
    // Nothing left to expire.
    expect(planRetention(reg, policy, now).items).toEqual([]);
  });
});

describe('disk check', () => {
  it('parses the fake free-space hook (longest prefix wins, bare number is the default)', () => {
    const env = { DSA110_FAKE_FREE_BYTES: '/data=1e12,/data/ms=5e10,7' };
    expect(freeBytesFor('/data/ms/sub', env)).toBe(5e10);
    expect(freeBytesFor('/data/msx', env)).toBe(1e12);
    expect(freeBytesFor('/elsewhere', env)).toBe(7);
    expect(() => parseFakeFree('/data=lots')).toThrow(/bad byte count/);
  });

  it('critical writes the pause flag, above critical removes it, between warns', async () => {
    const state = tmpDir();
    const flag = diskPauseFlagPath(state);
    const dirs = [{ role: 'ms', path: path.join(state, 'ms') }];
    const crit = await checkDisk({ dirs, warnGb: 200, criticalGb: 100, stateDir: state, env: { DSA110_FAKE_FREE_BYTES: '99.9e9' } });
    expect(crit.critical).toBe(true);
    expect(JSON.parse(readFileSync(flag, 'utf8')).dirs[0]).toEqual({ role: 'ms', path: path.join(state, 'ms'), free_bytes: 99.9e9 });
    const warn = await checkDisk({ dirs, warnGb: 200, criticalGb: 100, stateDir: state, env: { DSA110_FAKE_FREE_BYTES: '150e9' } });
    expect(warn.critical).toBe(false);
    expect(warn.actions.map((a) => a.action)).toEqual(['disk-warn', 'pause-flag-cleared']);
    expect(existsSync(flag)).toBe(false);
  });

  it('the flag is the one convert --watch honours', async () => {
    const { diskPauseFlag } = await import('../../src/commands/convert.js');
    expect(diskPauseFlagPath('/x/state')).toBe(diskPauseFlag('/x/state'));
  });
});

describe('integrity check', () => {
  it('passes on a good database and fails on a corrupted index page', () => {
    const p = path.join(tmpDir(), 'c.sqlite3');
    let reg = Registry.open(p);
    const st = reg.db.prepare(`INSERT INTO hdf5_files (path, group_id, subband, status, indexed_at) VALUES (?, ?, ?, 'indexed', 60000)`);
    reg.write(() => { for (let i = 0; i < 3000; i++) st.run(`/data/incoming/f_${i}_sb${i % 16}.hdf5`, `g${i >> 4}`, i % 16); });
    const good = integrityCheck(reg);
    expect([good.ok, good.detail]).toEqual([true, 'ok']);
    reg.db.pragma('wal_checkpoint(TRUNCATE)');
    reg.db.pragma('journal_mode = DELETE');
    const pageSize = reg.db.pragma('page_size', { simple: true }) as number;
    const { rootpage } = reg.db.prepare(`SELECT rootpage FROM sqlite_master WHERE name = 'idx_hdf5_group'`).get() as { rootpage: number };
    reg.close();
    const buf = readFileSync(p);
    for (let i = (rootpage - 1) * pageSize + 100; i < rootpage * pageSize; i++) buf[i] = (i * 7) & 0xff;
    writeFileSync(p, buf);
    reg = Registry.open(p);
    const bad = integrityCheck(reg);
    reg.close();
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/integrity_check failed/);
  });
});

describe('dsa110 housekeep (CLI)', () => {
  let root: string;
  let state: string;
  let db: string;
  const run = (args: string[], env: Record<string, string> = {}) =>
    dsa110(['housekeep', '--ms-dir', path.join(root, 'ms'), ...args], { env: { PIPELINE_STATE_DIR: state, PIPELINE_DB: '', DSA110_FAKE_FREE_BYTES: '1e13', ...env } });

  beforeAll(() => {
    root = tmpDir();
    state = path.join(root, 'state');
    db = path.join(state, 'db', 'pipeline.sqlite3');
    mkdirSync(path.join(root, 'ms'), { recursive: true });
    const reg = Registry.open(db);
    upsertGroup(reg, { groupId: 'G1', expected: 16, received: 16, missing: [] });
    upsertGroup(reg, { groupId: 'G2', expected: 16, received: 14, missing: [3, 9] });
    const now = mjdNow();
    reg.db.prepare(`UPDATE processing_queue SET state='in_progress', claimed_by='elsewhere:9', updated_at=? WHERE group_id='G1'`).run(now - 2 / 24);
    reg.db.prepare(`UPDATE processing_queue SET created_at=? WHERE group_id='G2'`).run(now - 2);
    reg.close();
  });

  it('usage errors exit 2', () => {
    expect(run(['--retention-days', 'bogus=1']).code).toBe(2);
    expect(run(['--apply']).code).toBe(2);
    expect(run(['--warn-gb', '10', '--critical-gb', '20']).code).toBe(2);
  });

  it('--json reports each action, recovers the queue and records a stage_metrics row', () => {
    const r = run(['--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const byAction = (a: string) => lines.filter((l) => l.action === a);
    expect(byAction('requeue').map((l) => l.subject)).toEqual(['G1']);
    expect(byAction('fail-collecting')[0].detail).toMatch(/missing sb03, sb09$/);
    expect(byAction('integrity-check')[0].ok).toBe(true);
    const summary = lines[lines.length - 1];
    expect(summary).toMatchObject({ action: 'summary', ok: true, disk_critical: false, integrity_ok: true, failures: 0 });
    const d = new Database(db, { readonly: true });
    expect(d.prepare(`SELECT state, retry_count FROM processing_queue WHERE group_id='G1'`).get()).toEqual({ state: 'pending', retry_count: 1 });
    const m = d.prepare(`SELECT command, ok FROM stage_metrics WHERE command='housekeep'`).all();
    d.close();
    expect(m).toEqual([{ command: 'housekeep', ok: 1 }]);
  });

  it('critical free space: exit 1, clear message, flag written; space back: flag removed, exit 0', () => {
    const flag = path.join(state, 'flags', 'disk-critical');
    const r = run([], { DSA110_FAKE_FREE_BYTES: `${path.join(root, 'ms')}=5e10,1e13` });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/disk space critical: .*\/ms \(50\.0 GB free < critical 100 GB\)/);
    expect(existsSync(flag)).toBe(true);
    const ok = run([]);
    expect(ok.code).toBe(0);
    expect(existsSync(flag)).toBe(false);
    expect(ok.stderr).toMatch(/pause-flag-cleared/);
  });

  it('--backup prints the path of a valid SQLite copy and leaves no temporaries', () => {
    const out = path.join(root, 'backup', 'pipeline-copy.sqlite3');
    const r = run(['--backup', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(out + '\n');
    const b = new Database(out, { readonly: true, fileMustExist: true });
    expect(b.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(b.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(b.prepare('SELECT group_id, state FROM processing_queue ORDER BY group_id').all()).toEqual([
      { group_id: 'G1', state: 'pending' }, { group_id: 'G2', state: 'failed' },
    ]);
    b.close();
    expect(readdirSync(path.dirname(out))).toEqual(['pipeline-copy.sqlite3']);
    // A directory target gets a timestamped file.
    const r2 = run(['--backup', path.join(root, 'backup') + '/']);
    expect(r2.stdout.trim()).toMatch(/backup\/pipeline-\d{8}T\d{6}Z\.sqlite3$/);
    rmSync(path.join(root, 'backup'), { recursive: true });
  });

  it('a missing registry is a one-line error, exit 1', () => {
    const r = dsa110(['housekeep'], { env: { PIPELINE_STATE_DIR: path.join(root, 'nowhere'), PIPELINE_DB: '', DSA110_FAKE_FREE_BYTES: '1e13' } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/registry database not found/);
  });
});
