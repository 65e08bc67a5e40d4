/**
 * Input paths: from arguments, or — when there are none and stdin is not a TTY — one per line
 * from stdin (blank lines and #-comments skipped). This is what lets commands chain with pipes.
 */
import { createInterface } from 'node:readline';

export async function readInputPaths(args: readonly string[], stdin: NodeJS.ReadStream = process.stdin): Promise<string[]> {
  if (args.length > 0) return [...args];
  if (stdin.isTTY) return [];
  const out: string[] = [];
  const rl = createInterface({ input: stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    const s = line.trim();
    if (s && !s.startsWith('#')) out.push(s);
  }
  return out;
}

/** Async iterator over stdin lines as they arrive (for streaming consumers). */
export async function* streamInputPaths(stdin: NodeJS.ReadStream = process.stdin): AsyncGenerator<string> {
  const rl = createInterface({ input: stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    const s = line.trim();
    if (s && !s.startsWith('#')) yield s;
  }
}
