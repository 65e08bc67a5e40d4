/**
 * Logging to stderr. Human format (optionally coloured) or one JSON object per line.
 * Configured once by cli.ts from the global options; library code just calls log.info() etc.
 */
import chalk, { Chalk } from 'chalk';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogConfig {
  level: LogLevel;
  format: 'text' | 'json';
  colour: boolean;
  command?: string;
}

/** Colour only on a TTY and never when NO_COLOR is set (https://no-color.org). */
export function colourWanted(stream: NodeJS.WriteStream = process.stderr): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return Boolean(stream.isTTY);
}

const config: LogConfig = { level: 'info', format: 'text', colour: false };
let painter = new Chalk({ level: 0 });

export function configureLog(c: Partial<LogConfig>): void {
  Object.assign(config, c);
  painter = new Chalk({ level: config.colour ? (chalk.level || 1) : 0 });
}

export function getLogConfig(): Readonly<LogConfig> {
  return config;
}

function emit(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (LEVELS[level] < LEVELS[config.level]) return;
  if (config.format === 'json') {
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
    if (config.command) rec.command = config.command;
    if (fields) Object.assign(rec, fields);
    process.stderr.write(JSON.stringify(rec) + '\n');
    return;
  }
  const tag =
    level === 'error' ? painter.red('error') :
    level === 'warn' ? painter.yellow('warning') :
    level === 'debug' ? painter.gray('debug') : '';
  const extra = fields && Object.keys(fields).length
    ? ' ' + painter.gray(Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' '))
    : '';
  process.stderr.write(`${config.command ? config.command + ': ' : ''}${tag ? tag + ': ' : ''}${msg}${extra}\n`);
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => emit('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => emit('error', msg, fields),
  get verbose(): boolean { return config.level === 'debug'; },
};
