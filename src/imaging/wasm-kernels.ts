/**
 * The WebAssembly SIMD gridding kernels (assembly/grid-kernels.ts, built into
 * dist/wasm/grid-kernels.wasm by `npm run build`) and the shared memory they work in.
 *
 * WebAssembly can only address its own memory, so the arrays the kernels touch (the per-row taps,
 * the visibilities being gridded or predicted, and the grid band) are allocated from one shared
 * WebAssembly.Memory (a WasmArena) instead of separate SharedArrayBuffers. Every thread binds the
 * module to that memory once (bindKernels) and re-creates its views on the memory's own buffer, so
 * that gridder.ts can tell by identity (kernelsFor) that an array lives there and hand the kernel
 * byte offsets. When the module is missing (not built), SIMD is unsupported, or the arrays would not
 * fit in the 4 GiB a wasm32 memory can hold, everything stays on the scalar TypeScript loops.
 *
 * DSA110_WASM=0 turns the kernels off (for comparisons and debugging).
 */
import { WasmLayout, loadWasmModule } from '../util/wasm-module.js';

/** Signature shared by both kernels (byte offsets, then grid row/visibility ranges and the w tap). */
type Kernel = (pK0: number, pKu: number, pKv: number, pKw: number, pVis: number, pGrid: number,
  Nu: number, rowLo: number, rowHi: number, visLo: number, visHi: number, iw: number) => void;

export interface GridKernels {
  memory: WebAssembly.Memory;
  /** memory.buffer, fetched once: views made on it are recognised by identity. */
  buffer: ArrayBufferLike;
  spread5: Kernel;
  interp5: Kernel;
}

const PAGE = 65536;
/** wasm32 addresses at most 65,536 pages (4 GiB). */
export const WASM_MAX_BYTES = 65536 * PAGE;

/** The compiled grid kernels, or null when unavailable (not built, disabled, or no SIMD). */
export function kernelModule(): WebAssembly.Module | null { return loadWasmModule('grid-kernels'); }

let bound: GridKernels | undefined;

/** Instantiate the kernels on `memory` for this thread (idempotent); undefined if unavailable. */
export function bindKernels(memory: WebAssembly.Memory): GridKernels | undefined {
  if (bound?.memory === memory) return bound;
  const mod = kernelModule();
  if (!mod) return undefined;
  const inst = new WebAssembly.Instance(mod, {
    env: { memory, abort: () => { throw new Error('grid kernel aborted'); } },
  });
  const ex = inst.exports as unknown as { spread5: Kernel; interp5: Kernel };
  bound = { memory, buffer: memory.buffer, spread5: ex.spread5, interp5: ex.interp5 };
  return bound;
}

/** This thread's kernels if every array given lives in their memory. */
export function kernelsFor(...arrays: ArrayBufferView[]): GridKernels | undefined {
  const k = bound;
  if (!k) return undefined;
  for (const a of arrays) if (a.buffer !== k.buffer) return undefined;
  return k;
}

/** Forget this thread's binding (tests; a pool that closes). */
export function unbindKernels(): void { bound = undefined; }

/** A fixed-size shared wasm memory handed out front to back, 16-byte aligned (v128 loads). */
export class WasmArena {
  readonly memory: WebAssembly.Memory;
  readonly buffer: ArrayBufferLike;
  private layout = new WasmLayout();

  constructor(bytes: number) {
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.buffer = this.memory.buffer;
  }

  /** Bytes needed for these allocation sizes (with alignment). */
  static size(byteCounts: number[]): number {
    const L = new WasmLayout();
    for (const b of byteCounts) L.take(b);
    return L.end;
  }

  private take(bytes: number): number {
    const at = this.layout.take(bytes);
    if (this.layout.end > this.buffer.byteLength) throw new RangeError(`wasm arena: ${this.layout.end} bytes exceed ${this.buffer.byteLength}`);
    return at;
  }

  f32(n: number): Float32Array { return new Float32Array(this.buffer, this.take(4 * n), n); }
  i32(n: number): Int32Array { return new Int32Array(this.buffer, this.take(4 * n), n); }
  /** A copy of `a` in the arena. */
  copy<T extends Float32Array | Int32Array>(a: T): T {
    const out = (a instanceof Float32Array ? this.f32(a.length) : this.i32(a.length)) as T;
    out.set(a);
    return out;
  }
}

/** The same view re-made on `buffer` (a worker's own handle on the shared memory). */
export function rebind<T extends Float32Array | Int32Array>(a: T, buffer: ArrayBufferLike): T {
  const C = a.constructor as { new (b: ArrayBufferLike, o: number, n: number): T };
  return new C(buffer, a.byteOffset, a.length);
}
