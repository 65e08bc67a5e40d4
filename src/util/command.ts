/**
 * What every command shares: the global options, logging set-up, the error → exit-code mapping,
 * and opening the registry with the configured path.
 */
import type { Command } from 'commander';
import { configureLog, colourWanted, log } from './log.js';
import { DsaError, EXIT_FAILURE, EXIT_OK, EXIT_PARTIAL, UsageError } from './errors.js';
import { dbPath, stateDir } from './config.js';
import { Registry, type OpenOptions } from '../registry/db.js';

export interface GlobalOptions {
  quiet?: boolean;
  verbose?: boolean;
  logFormat?: 'text' | 'json';
  color?: boolean;
  db?: string;
  stateDir?: string;
}

export interface CommandContext {
  name: string;
  global: GlobalOptions;
  /** Open (creating/migrating as needed) the registry configured by --db / env / default. */
  registry(opts?: OpenOptions): Registry;
  dbPath: string;
  stateDir: string;
}

function setupLogging(name: string, g: GlobalOptions): void {
  configureLog({
    command: name,
    level: g.quiet ? 'error' : g.verbose ? 'debug' : 'info',
    format: g.logFormat === 'json' ? 'json' : 'text',
    colour: g.color !== false && g.logFormat !== 'json' && colourWanted(),
  });
}

/**
 * Wrap a command action: returns the exit code via process.exitCode (never process.exit, so
 * stdout drains). DsaErrors print one line; anything else is an internal error (stack with -v).
 */
export function action<A extends unknown[]>(
  name: string,
  fn: (ctx: CommandContext, ...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as Command;
    const g = cmd.optsWithGlobals() as GlobalOptions;
    setupLogging(name, g);
    const regs: Registry[] = [];
    const ctx: CommandContext = {
      name,
      global: g,
      dbPath: dbPath({ db: g.db, stateDir: g.stateDir }),
      stateDir: stateDir(g.stateDir),
      registry(opts?: OpenOptions) {
        const r = Registry.open(this.dbPath, opts);
        regs.push(r);
        return r;
      },
    };
    try {
      const code = await fn(ctx, ...args);
      process.exitCode = code ?? EXIT_OK;
    } catch (e) {
      process.exitCode = reportError(e, g.verbose ?? false);
    } finally {
      for (const r of regs) r.close();
    }
  };
}

export function reportError(e: unknown, verbose: boolean): number {
  if (e instanceof DsaError) {
    log.error(e.oneLine());
    if (verbose && e.stack) process.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e as Error & { code?: string; path?: string };
  if (err && (err.code === 'ENOSPC' || err.code === 'EDQUOT')) {
    log.error(`${err.path ? err.path + ': ' : ''}disk full (${err.code})`);
  } else if (err && typeof err.code === 'string' && err.path) {
    log.error(`${err.path}: ${err.message}`);
  } else {
    log.error(`internal error: ${err?.message ?? String(e)}`);
  }
  if (verbose && err?.stack) process.stderr.write(err.stack + '\n');
  return EXIT_FAILURE;
}

/** Exit code of a batch over several inputs: 0 all done, 3 partial, 1 all failed. */
export function batchExitCode(done: number, failed: number): number {
  if (failed === 0) return EXIT_OK;
  return done > 0 ? EXIT_PARTIAL : EXIT_FAILURE;
}

/**
 * Run `fn` on each input in turn: a failing input is logged in one line naming it and the others
 * go on (the convention every multi-input command follows). Returns batchExitCode.
 * rethrowSingle: with one input, let its error reach the CLI (its own exit code and message).
 * rethrowUsage: a UsageError aborts the whole batch.
 */
export async function forEachInput(
  ctx: CommandContext,
  inputs: readonly string[],
  fn: (input: string) => Promise<unknown>,
  opts: { rethrowSingle?: boolean; rethrowUsage?: boolean } = {},
): Promise<number> {
  let done = 0, failed = 0;
  for (const p of inputs) {
    try {
      await fn(p);
      done++;
    } catch (e) {
      if ((opts.rethrowSingle && inputs.length === 1) || (opts.rethrowUsage && e instanceof UsageError)) throw e;
      failed++;
      log.error(e instanceof DsaError ? e.oneLine() : `${p}: ${(e as Error).message}`);
      if (ctx.global.verbose && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    }
  }
  return batchExitCode(done, failed);
}
