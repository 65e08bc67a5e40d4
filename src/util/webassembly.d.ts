// The few WebAssembly JS-API declarations the SIMD kernels use: lib "dom" is not loaded (this is
// Node) and @types/node 20 does not declare the WebAssembly global.
declare namespace WebAssembly {
  class Module { constructor(bytes: BufferSource); }
  class Instance { constructor(module: Module, imports?: Record<string, Record<string, unknown>>); readonly exports: Record<string, unknown>; }
  interface MemoryDescriptor { initial: number; maximum?: number; shared?: boolean }
  class Memory { constructor(descriptor: MemoryDescriptor); readonly buffer: ArrayBuffer | SharedArrayBuffer; grow(delta: number): number; }
}
type BufferSource = ArrayBufferView | ArrayBuffer;
