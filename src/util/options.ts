/**
 * Option parsers for commander that turn bad values into one-line usage errors (exit 2).
 */
import { InvalidArgumentError } from 'commander';

export function parseNumber(name: string, opts: { min?: number; max?: number; integer?: boolean } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got '${value}'`);
    if (opts.integer && !Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got '${value}'`);
    if (opts.min !== undefined && n < opts.min) throw new InvalidArgumentError(`${name} must be ≥ ${opts.min}, got ${value}`);
    if (opts.max !== undefined && n > opts.max) throw new InvalidArgumentError(`${name} must be ≤ ${opts.max}, got ${value}`);
    return n;
  };
}

export const parseInteger = (name: string, min = 0, max?: number) => parseNumber(name, { min, max, integer: true });

export function parseChoice<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got '${value}'`);
    return value as T;
  };
}

/** Time given as ISO-8601 (UTC) or MJD days → MJD days. */
export function parseTimeToMjd(name: string) {
  return (value: string): number => {
    const v = value.trim();
    if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
    const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : v + 'Z';
    const ms = Date.parse(iso);
    if (!Number.isFinite(ms)) throw new InvalidArgumentError(`${name} must be an ISO time or MJD, got '${value}'`);
    return ms / 86400000 + 40587;
  };
}

export function mjdToIso(mjd: number): string {
  return new Date((mjd - 40587) * 86400000).toISOString();
}

export function nowMjd(): number {
  return Date.now() / 86400000 + 40587;
}
