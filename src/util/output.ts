/**
 * Printing products on stdout: one path per line, or one JSON object per line with --json.
 * Writes are synchronous so that lines reach a pipe immediately (streaming workers).
 */
import { writeSync } from 'node:fs';

export interface Product {
  path: string;
  kind: string;
  [key: string]: unknown;
}

export interface OutputOptions { json?: boolean }

function writeLine(line: string): void {
  const buf = Buffer.from(line + '\n');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue; // non-blocking pipe momentarily full
      if (code === 'EPIPE') return; // reader went away (e.g. `| head`): not our error
      throw e;
    }
  }
}

export function printProduct(p: Product, opts: OutputOptions): void {
  writeLine(opts.json ? JSON.stringify(p) : p.path);
}

/** Print a JSON value as one line (for --json reports that are not products). */
export function printJson(value: unknown): void {
  writeLine(JSON.stringify(value));
}

export function printLine(text: string): void {
  writeLine(text);
}
