// hasControlByte: does a buffer hold a byte below 0x20 (which JSON forbids
// inside strings)? It runs over every byte of every e2ee frame the fast path
// takes, so it is the fast path's main cost at 16 KiB. Large buffers go to a
// 101-byte WebAssembly SIMD kernel (16 bytes per step, about 2.5x faster than
// the JavaScript loop, copy included); small ones, and any runtime without
// WebAssembly SIMD, use a four-bytes-per-step JavaScript loop.

const SPACE = 0x20;
// Below this size the copy into WebAssembly memory costs more than it saves.
const KERNEL_MIN_BYTES = 1024;
const PAGE = 65536;

/**
 * The kernel, in the WebAssembly text format:
 *   (module (memory (export "mem") 1)
 *     (func (export "check") (param $i i32) (param $end i32) (result i32)
 *       (local $acc v128) (local $limit v128)
 *       (local.set $limit (i8x16.splat (i32.const 0x20)))
 *       (block (loop
 *         (br_if 1 (i32.ge_u (local.get $i) (local.get $end)))
 *         (local.set $acc (v128.or (local.get $acc) (i8x16.lt_u (v128.load (local.get $i)) (local.get $limit))))
 *         (local.set $i (i32.add (local.get $i) (i32.const 16)))
 *         (br 0)))
 *       (v128.any_true (local.get $acc))))
 * The caller pads the data with 16 printable bytes, so the last 16-byte load stays in range.
 */
const KERNEL_BASE64 =
  'AGFzbQEAAAABBwFgAn9/AX8DAgEABQMBAAEHDwIFY2hlY2sAAANtZW0CAAo4ATYCAXsBe0Eg/Q8hAwJAA0AgACABTw0BIAIgAP0AAAAgA/0m/VAhAiAAQRBqIQAMAAsLIAL9Uws=';

// The relay's TypeScript lib has no WebAssembly typings; this is the little it uses.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

interface Kernel {
  readonly check: (start: number, end: number) => number;
  readonly memory: WasmMemory;
  view: Uint8Array;
}

function loadKernel(): Kernel | undefined {
  if (wasm === undefined) return undefined;
  try {
    const instance = new wasm.Instance(new wasm.Module(Buffer.from(KERNEL_BASE64, 'base64')));
    const exports = instance.exports as { check: Kernel['check']; mem: WasmMemory };
    const kernel: Kernel = { check: exports.check, memory: exports.mem, view: new Uint8Array(exports.mem.buffer) };
    // Self-check once, so a runtime that mis-executes SIMD falls back instead of misjudging frames.
    return kernelHas(kernel, Buffer.alloc(KERNEL_MIN_BYTES, 0x41)) === false && kernelHas(kernel, Buffer.alloc(KERNEL_MIN_BYTES, 0x1f)) === true
      ? kernel
      : undefined;
  } catch {
    return undefined; // no WebAssembly SIMD here: the JavaScript loop does the job
  }
}

function kernelHas(kernel: Kernel, buf: Uint8Array): boolean {
  const n = buf.length;
  if (kernel.view.length < n + 16) {
    kernel.memory.grow(Math.ceil((n + 16 - kernel.view.length) / PAGE));
    kernel.view = new Uint8Array(kernel.memory.buffer);
  }
  kernel.view.set(buf, 0);
  kernel.view.fill(0x41, n, n + 16);
  return kernel.check(0, n) !== 0;
}

const kernel = loadKernel();

/** hasControlBytePortable is the JavaScript loop: (x - 0x20202020) & ~x & 0x80808080 is non-zero exactly when a byte of x is below 0x20. */
export function hasControlBytePortable(buf: Uint8Array): boolean {
  const n = buf.length;
  let i = 0;
  while (i < n && ((buf.byteOffset + i) & 3) !== 0) if ((buf[i++] as number) < SPACE) return true;
  const words = (n - i) >>> 2;
  if (words > 0) {
    const w = new Int32Array(buf.buffer, buf.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      const x = w[k] as number;
      if (((x - 0x20202020) & ~x & 0x80808080) !== 0) return true;
    }
    i += words << 2;
  }
  while (i < n) if ((buf[i++] as number) < SPACE) return true;
  return false;
}

/** hasControlByte is true when buf holds a byte below 0x20. */
export function hasControlByte(buf: Uint8Array): boolean {
  return kernel !== undefined && buf.length >= KERNEL_MIN_BYTES ? kernelHas(kernel, buf) : hasControlBytePortable(buf);
}

/** controlByteKernelLoaded says whether the WebAssembly kernel is in use (tests, diagnostics). */
export const controlByteKernelLoaded = kernel !== undefined;
