/**
 * Loading the project's WebAssembly modules (assembly/*.ts, compiled by `npm run build` into
 * dist/wasm/). Each is optional: a missing or uncompilable module (not built, or no SIMD) gives
 * null and the caller keeps its TypeScript loops. DSA110_WASM=0 turns them all off.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cache = new Map<string, WebAssembly.Module | null>();

/** Byte offsets handed out front to back, 16-byte aligned (v128 loads), in a wasm memory. */
export class WasmLayout {
  end: number;
  constructor(start = 0) { this.end = start; }
  take(bytes: number): number {
    const p = (this.end + 15) & ~15;
    this.end = p + bytes;
    return p;
  }
}

/** The compiled module dist/wasm/<name>.wasm, or null when unavailable or disabled. */
export function loadWasmModule(name: string): WebAssembly.Module | null {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  let mod: WebAssembly.Module | null = null;
  if (process.env.DSA110_WASM !== '0') {
    // dist/src/util → dist/wasm, or src/util (sources under vitest) → dist/wasm
    for (const rel of [`../../wasm/${name}.wasm`, `../../dist/wasm/${name}.wasm`]) {
      const file = fileURLToPath(new URL(rel, import.meta.url));
      if (!existsSync(file)) continue;
      try { mod = new WebAssembly.Module(readFileSync(file)); } catch { mod = null; }
      break;
    }
  }
  cache.set(name, mod);
  return mod;
}
