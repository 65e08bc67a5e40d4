/**
 * An in-process cron for containers without a cron daemon (scripts/dsa110-scheduler).
 *
 * Reads a user crontab (five time fields, then the command; `NAME=value` environment lines;
 * `#` comments; @hourly-style macros; `%` ends the command and the rest is its stdin, `\%` is a
 * literal %, as in cron(5)). Environment lines, CRON_TZ included, apply to the entries after
 * them, as in cronie. Each job runs with `$SHELL -c` (default /bin/sh), never two copies of one
 * job at once: a run that finds the previous one still going is skipped and logged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import cron, { type ScheduledTask } from 'node-cron';

export interface CronJob {
  /** Line number in the crontab (1-based), used in logs as the job's name with the command. */
  line: number;
  name: string;
  /** Five-field cron expression (macros expanded), or '@reboot'. */
  schedule: string;
  command: string;
  /** Text after an unescaped %, with further % turned into newlines (cron(5)). */
  stdin?: string;
  /** Environment assignments in force for this entry. */
  env: Record<string, string>;
  /** IANA zone from CRON_TZ (or TZ) in force, if any. */
  timezone?: string;
}

export class CrontabError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'CrontabError';
  }
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && ((t[0] === '"' && t.endsWith('"')) || (t[0] === "'" && t.endsWith("'")))) return t.slice(1, -1);
  return t;
}

/** Split a command at its first unescaped %; unescape \% in both parts; later % become newlines. */
function splitPercent(s: string): { command: string; stdin?: string } {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === '%') { i++; continue; }
    if (s[i] === '%') {
      const rest = s.slice(i + 1).replace(/(?<!\\)%/g, '\n').replace(/\\%/g, '%');
      return { command: s.slice(0, i).replace(/\\%/g, '%'), stdin: rest.length ? rest + '\n' : undefined };
    }
  }
  return { command: s.replace(/\\%/g, '%') };
}

function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Parse crontab text; throws CrontabError naming the line for anything it cannot run. */
export function parseCrontab(text: string, file = 'crontab'): { jobs: CronJob[]; env: Record<string, string> } {
  const env: Record<string, string> = {};
  const jobs: CronJob[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const s = raw.trim();
    if (!s || s.startsWith('#')) continue;
    const assign = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(s);
    if (assign) {
      env[assign[1]!] = unquote(assign[2]!);
      continue;
    }
    let schedule: string;
    let rest: string;
    if (s.startsWith('@')) {
      const m = /^(@\w+)\s+(.+)$/.exec(s);
      if (!m) throw new CrontabError(file, i + 1, `a macro needs a command after it: '${s}'`);
      if (m[1] === '@reboot') schedule = '@reboot';
      else if (MACROS[m[1]!]) schedule = MACROS[m[1]!]!;
      else throw new CrontabError(file, i + 1, `unknown schedule macro ${m[1]}`);
      rest = m[2]!;
    } else {
      const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+)$/.exec(s);
      if (!m) throw new CrontabError(file, i + 1, `expected five time fields and a command: '${s}'`);
      schedule = m.slice(1, 6).join(' ');
      rest = m[6]!;
      if (!cron.validate(schedule)) throw new CrontabError(file, i + 1, `invalid schedule '${schedule}'`);
    }
    const { command, stdin } = splitPercent(rest);
    if (!command.trim()) throw new CrontabError(file, i + 1, 'empty command');
    const tz = env.CRON_TZ ?? env.TZ;
    if (tz && !validTimezone(tz)) throw new CrontabError(file, i + 1, `unknown time zone '${tz}'`);
    jobs.push({
      line: i + 1,
      name: `${file.replace(/^.*\//, '')}:${i + 1}`,
      schedule,
      command: command.trim(),
      stdin,
      env: { ...env },
      timezone: tz || undefined,
    });
  }
  return { jobs, env };
}

export type RunOutcome =
  | { status: 'skipped'; reason: string }
  | { status: 'finished'; code: number | null; signal: NodeJS.Signals | null; seconds: number };

export interface RunnerLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface RunnerOptions {
  /** Base environment (default process.env); the job's crontab env is laid over it. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Appended to PATH so that `dsa110` resolves to this installation when not on PATH. */
  extraPath?: string;
  logger?: RunnerLogger;
  /** Where job output goes (default: the scheduler's stderr, each line prefixed with the job name). */
  output?: (job: CronJob, stream: 'stdout' | 'stderr', line: string) => void;
}

/**
 * Runs jobs without overlap. `run(job)` resolves when the job finishes, or at once with
 * `skipped` if the same job (by name) is still running.
 */
export class JobRunner {
  private readonly running = new Map<string, ChildProcess>();
  private stopping = false;

  constructor(private readonly o: RunnerOptions = {}) {}

  isRunning(job: CronJob): boolean {
    return this.running.has(job.name);
  }

  get active(): number {
    return this.running.size;
  }

  envFor(job: CronJob): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...(this.o.baseEnv ?? process.env), ...job.env };
    if (this.o.extraPath) env.PATH = env.PATH ? `${env.PATH}:${this.o.extraPath}` : this.o.extraPath;
    return env;
  }

  run(job: CronJob): Promise<RunOutcome> {
    const logger = this.o.logger;
    if (this.stopping) return Promise.resolve({ status: 'skipped', reason: 'scheduler is stopping' });
    const prev = this.running.get(job.name);
    if (prev) {
      const reason = `previous run (pid ${prev.pid}) still going`;
      logger?.warn(`${job.name}: skipped: ${reason}: ${job.command}`);
      return Promise.resolve({ status: 'skipped', reason });
    }
    const env = this.envFor(job);
    const shell = env.SHELL && env.SHELL.startsWith('/') ? env.SHELL : '/bin/sh';
    const t0 = Date.now();
    // Own process group, so a stop signal reaches the job's children (pipelines) too.
    const child = spawn(shell, ['-c', job.command], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.running.set(job.name, child);
    logger?.info(`${job.name}: started (pid ${child.pid}): ${job.command}`);
    const emit = this.o.output ?? ((j: CronJob, _s: 'stdout' | 'stderr', line: string) => process.stderr.write(`[${j.name}] ${line}\n`));
    const pipeLines = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr') => {
      if (!stream) return;
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          emit(job, name, buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
      stream.on('end', () => { if (buf) emit(job, name, buf); });
    };
    pipeLines(child.stdout, 'stdout');
    pipeLines(child.stderr, 'stderr');
    child.stdin?.on('error', () => undefined); // a job that ignores stdin may close it early
    child.stdin?.end(job.stdin ?? '');
    return new Promise((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        this.running.delete(job.name);
        const seconds = (Date.now() - t0) / 1000;
        const how = signal ? `killed by ${signal}` : `exit ${code}`;
        if (code === 0) logger?.info(`${job.name}: finished (${how}) in ${seconds.toFixed(1)} s`);
        else logger?.error(`${job.name}: failed (${how}) after ${seconds.toFixed(1)} s: ${job.command}`);
        resolve({ status: 'finished', code, signal, seconds });
      };
      child.on('error', (e) => {
        logger?.error(`${job.name}: cannot start ${shell}: ${e.message}`);
        finish(127, null);
      });
      child.on('close', finish);
    });
  }

  /**
   * Refuse new runs; send `signal` to every running job's process group, then SIGKILL whatever
   * is left after graceMs. Resolves when all have exited.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000): Promise<void> {
    this.stopping = true;
    const kids = [...this.running.values()];
    if (!kids.length) return;
    const gone = Promise.all(kids.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('close', () => r())))));
    const sig = (c: ChildProcess, s: NodeJS.Signals) => {
      try {
        if (c.pid) process.kill(-c.pid, s);
      } catch {
        /* already gone */
      }
    };
    for (const c of kids) sig(c, signal);
    let timer: NodeJS.Timeout | undefined;
    const killer = new Promise<void>((r) => {
      timer = setTimeout(() => {
        for (const c of kids) sig(c, 'SIGKILL');
        r();
      }, graceMs);
    });
    await Promise.race([gone, killer]);
    clearTimeout(timer);
    await gone;
  }
}

export interface Scheduler {
  tasks: ScheduledTask[];
  /** Stop scheduling, signal running jobs, wait for them. */
  stop(graceMs?: number): Promise<void>;
}

/** Schedule every job with node-cron; @reboot jobs run once now. */
export function startScheduler(jobs: readonly CronJob[], runner: JobRunner): Scheduler {
  const tasks: ScheduledTask[] = [];
  for (const job of jobs) {
    if (job.schedule === '@reboot') {
      void runner.run(job);
      continue;
    }
    // Fire and forget: overlap is decided by the runner (skip + log), not by node-cron.
    const task = cron.schedule(job.schedule, () => { void runner.run(job); }, {
      name: job.name,
      ...(job.timezone ? { timezone: job.timezone } : {}),
    });
    tasks.push(task);
  }
  return {
    tasks,
    async stop(graceMs = 30_000) {
      for (const t of tasks) {
        await t.stop();
        await t.destroy();
      }
      await runner.stop('SIGTERM', graceMs);
    },
  };
}

/** The next time each job will run (for --list), using node-cron's own calculation. */
export function nextRuns(jobs: readonly CronJob[]): { job: CronJob; next: Date | null }[] {
  return jobs.map((job) => {
    if (job.schedule === '@reboot') return { job, next: null };
    const t = cron.createTask(job.schedule, () => undefined, job.timezone ? { timezone: job.timezone } : {});
    try {
      void t.start();
      return { job, next: t.getNextRun() };
    } finally {
      void t.stop();
      void t.destroy();
    }
  });
}
