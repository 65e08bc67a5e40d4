import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCrontab, JobRunner, CrontabError, nextRuns, type CronJob } from '../../src/ops/scheduler.js';
import { REPO, tmpDir } from '../helpers/cli.js';

const CRONTAB = `
# comment line
   # indented comment
CRON_TZ=UTC
PIPELINE_DB=/data/state/db/pipeline.sqlite3
QUOTED = "two words"
5 * * * *   dsa110 housekeep --ms-dir /data/ms
FOO=later
15 3 * * *  dsa110 mosaic nightly
@daily      date +\\%F%line one%line two
`;

function job(command: string, extra: Partial<CronJob> = {}): CronJob {
  return { line: 1, name: extra.name ?? `t:${command}`, schedule: '* * * * *', command, env: {}, ...extra };
}

/** True if pid no longer runs: gone, or a zombie awaiting a reaper (kill(pid, 0) succeeds on those). */
function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

function collector() {
  const lines: string[] = [];
  const logs: string[] = [];
  const runner = new JobRunner({
    baseEnv: { PATH: process.env.PATH, HOME: process.env.HOME },
    output: (_j, s, l) => lines.push(`${s}:${l}`),
    logger: { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`), error: (m) => logs.push(`error ${m}`) },
  });
  return { runner, lines, logs };
}

describe('crontab parsing', () => {
  it('reads jobs, env lines (applying to later entries), comments, macros and % stdin', () => {
    const { jobs, env } = parseCrontab(CRONTAB, '/etc/dsa110.crontab');
    expect(env).toEqual({ CRON_TZ: 'UTC', PIPELINE_DB: '/data/state/db/pipeline.sqlite3', QUOTED: 'two words', FOO: 'later' });
    expect(jobs.map((j) => [j.line, j.schedule, j.command])).toEqual([
      [7, '5 * * * *', 'dsa110 housekeep --ms-dir /data/ms'],
      [9, '15 3 * * *', 'dsa110 mosaic nightly'],
      [10, '0 0 * * *', 'date +%F'],
    ]);
    expect(jobs[0]!.env).toEqual({ CRON_TZ: 'UTC', PIPELINE_DB: '/data/state/db/pipeline.sqlite3', QUOTED: 'two words' });
    expect(jobs[1]!.env.FOO).toBe('later');
    expect(jobs[0]!.timezone).toBe('UTC');
    expect(jobs[0]!.name).toBe('dsa110.crontab:7');
    expect(jobs[2]!.stdin).toBe('line one\nline two\n');
    expect(jobs[0]!.stdin).toBeUndefined();
  });

  it('names the line of a bad entry', () => {
    expect(() => parseCrontab('A=1\n61 * * * * echo', 'f')).toThrow(CrontabError);
    expect(() => parseCrontab('A=1\n61 * * * * echo', 'f')).toThrow(/^f:2: invalid schedule '61 \* \* \* \*'/);
    expect(() => parseCrontab('* * * echo', 'f')).toThrow(/f:1: expected five time fields/);
    expect(() => parseCrontab('@fortnightly echo', 'f')).toThrow(/unknown schedule macro/);
    expect(() => parseCrontab('CRON_TZ=Mars/Olympus\n* * * * * echo', 'f')).toThrow(/f:2: unknown time zone/);
  });

  it('the shipped crontab runs housekeep hourly and the nightly mosaic at 03:15 UTC with PIPELINE_DB set', () => {
    const { jobs } = parseCrontab(readFileSync(path.join(REPO, 'cron', 'dsa110.crontab'), 'utf8'));
    const hk = jobs.find((j) => /^dsa110 housekeep/.test(j.command))!;
    expect(hk.schedule).toMatch(/^\d+ \* \* \* \*$/);
    const mosaic = jobs.find((j) => j.command === 'dsa110 mosaic nightly')!;
    expect(mosaic.schedule).toBe('15 3 * * *');
    for (const j of jobs) {
      expect(j.timezone).toBe('UTC');
      expect(j.env.PIPELINE_DB).toMatch(/\.sqlite3$/);
    }
    // node-cron agrees on the next 03:15 UTC.
    const next = nextRuns([mosaic])[0]!.next!;
    expect([next.getUTCHours(), next.getUTCMinutes(), next.getUTCSeconds()]).toEqual([3, 15, 0]);
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(86400_000);
    expect(next.getTime()).toBeGreaterThan(Date.now());
  });
});

describe('job runner', () => {
  it('honours crontab env and stdin, and reports the exit code', async () => {
    const { runner, lines } = collector();
    const r = await runner.run(job('echo "$GREETING"; cat; exit 3', { env: { GREETING: 'hello from cron' }, stdin: 'a\nb\n' }));
    expect(r).toMatchObject({ status: 'finished', code: 3 });
    expect(lines).toEqual(['stdout:hello from cron', 'stdout:a', 'stdout:b']);
  });

  it('never runs two copies of one job: an overlapping run is skipped and logged', async () => {
    const { runner, lines, logs } = collector();
    const slow = job('sleep 0.6; echo done', { name: 'slow' });
    const first = runner.run(slow);
    expect(runner.isRunning(slow)).toBe(true);
    const second = await runner.run(slow);
    expect(second.status).toBe('skipped');
    expect(logs.some((l) => /^warn slow: skipped: previous run \(pid \d+\) still going/.test(l))).toBe(true);
    // A different job is not blocked.
    expect((await runner.run(job('echo other', { name: 'other' }))).status).toBe('finished');
    expect((await first).status).toBe('finished');
    expect(lines.filter((l) => l === 'stdout:done')).toHaveLength(1);
    // Once finished, the job may run again.
    expect((await runner.run(slow)).status).toBe('finished');
    expect(lines.filter((l) => l === 'stdout:done')).toHaveLength(2);
  });

  it('stop() terminates running jobs (and their children) and refuses new runs', async () => {
    const { runner } = collector();
    const dir = tmpDir();
    const pidFile = path.join(dir, 'child.pid');
    const p = runner.run(job(`sleep 30 & echo $! > ${pidFile}; wait`, { name: 'long' }));
    for (let i = 0; i < 100; i++) {
      try { if (readFileSync(pidFile, 'utf8').trim()) break; } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 20));
    }
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    const t0 = Date.now();
    await runner.stop('SIGTERM', 5000);
    expect(Date.now() - t0).toBeLessThan(4000);
    const r = await p;
    expect(r).toMatchObject({ status: 'finished', signal: 'SIGTERM' });
    await new Promise((res) => setTimeout(res, 50));
    expect(processGone(grandchild)).toBe(true);
    expect((await runner.run(job('true'))).status).toBe('skipped');
  });
});

describe('scripts/dsa110-scheduler', () => {
  const script = path.join(REPO, 'scripts', 'dsa110-scheduler');

  it('--list prints each job with its next run; a bad crontab exits 2 naming the line', () => {
    const dir = tmpDir();
    const f = path.join(dir, 'c');
    writeFileSync(f, 'CRON_TZ=UTC\n15 3 * * * dsa110 mosaic nightly\n');
    const r = spawnSync(process.execPath, [script, '--crontab', f, '--list'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^15 3 \* \* \*\tUTC\t\d{4}-\d\d-\d\dT03:15:00\.000Z\tdsa110 mosaic nightly\n$/);
    writeFileSync(f, 'x y\n');
    const bad = spawnSync(process.execPath, [script, '--crontab', f], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/c:1: expected five time fields/);
  });

  it('runs @reboot jobs with crontab env and stops cleanly on SIGTERM', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'c');
    const out = path.join(dir, 'out');
    writeFileSync(f, `MARK=from-crontab\n@reboot echo "$MARK" > ${out}; exec sleep 30\n0 0 1 1 * echo never\n`);
    const child = spawn(process.execPath, [script, '--crontab', f, '--grace', '5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    for (let i = 0; i < 200 && !/job\(s\) from/.test(stderr); i++) await new Promise((r) => setTimeout(r, 25));
    for (let i = 0; i < 100; i++) {
      try { if (readFileSync(out, 'utf8')) break; } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(readFileSync(out, 'utf8')).toBe('from-crontab\n');
    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(stderr).toMatch(/SIGTERM: stopping \(1 job\(s\) running/);
    expect(stderr).toMatch(/killed by SIGTERM/);
  });
});
