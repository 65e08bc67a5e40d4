/**
 * Progress bars (cli-progress) only when stderr is a TTY and logging is not quiet/JSON;
 * otherwise a no-op object so callers never branch.
 */
import cliProgress from 'cli-progress';
import { getLogConfig } from './log.js';

export interface Progress {
  update(value: number, label?: string): void;
  increment(by?: number): void;
  stop(): void;
}

const NOOP: Progress = { update() {}, increment() {}, stop() {} };

export function progressBar(total: number, label: string): Progress {
  const cfg = getLogConfig();
  if (!process.stderr.isTTY || cfg.format === 'json' || cfg.level === 'error' || total <= 0) return NOOP;
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} {stage}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { stage: '' });
  return {
    update: (v, stage) => bar.update(v, { stage: stage ?? '' }),
    increment: (by = 1) => bar.increment(by),
    stop: () => bar.stop(),
  };
}
