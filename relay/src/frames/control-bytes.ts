// hasControlByteOrBackslash: does a buffer hold a byte below 0x20 (which JSON
// forbids inside strings) or a backslash (an escape, which changes what a
// string means)? Either sends a frame to the full parser. It runs over every
// byte of every e2ee frame the fast path takes, so it is the fast path's main
// cost at 16 KiB. Large buffers go to a small WebAssembly SIMD kernel (64
// bytes per step; one pass finds both kinds of byte, about 0.8 µs for 16 KiB
// plus the copy into its memory); small ones, and any runtime without
// WebAssembly SIMD, use a four-bytes-per-step JavaScript loop.

const SPACE = 0x20;
const BACKSLASH = 0x5c;
// Below this size the copy into WebAssembly memory costs more than it saves.
const KERNEL_MIN_BYTES = 1024;
// The kernel reads whole 64-byte steps; the caller pads the data with this many printable bytes.
const KERNEL_PAD = 64;
const PAGE = 65536;

/**
 * The kernel, in the WebAssembly text format (four 16-byte loads per step):
 *   (module (memory (export "mem") 1)
 *     (func (export "check") (param $i i32) (param $end i32) (result i32)
 *       (local $min v128) (local $hits v128) (local $backslash v128) (local $v v128)
 *       (local.set $min (i8x16.splat (i32.const -1)))
 *       (local.set $backslash (i8x16.splat (i32.const 0x5c)))
 *       (block (loop
 *         (br_if 1 (i32.ge_u (local.get $i) (local.get $end)))
 *         ;; for offset in 0, 16, 32, 48:
 *         (local.set $v (v128.load offset=<offset> (local.get $i)))
 *         (local.set $min (i8x16.min_u (local.get $v) (local.get $min)))
 *         (local.set $hits (v128.or (i8x16.eq (local.get $v) (local.get $backslash)) (local.get $hits)))
 *         (local.set $i (i32.add (local.get $i) (i32.const 64)))
 *         (br 0)))
 *       (v128.any_true (v128.or (i8x16.lt_u (local.get $min) (i8x16.splat (i32.const 0x20))) (local.get $hits)))))
 */
const KERNEL_BASE64 =
  'AGFzbQEAAAABBwFgAn9/AX8DAgEABQMBAAEHDwIFY2hlY2sAAANtZW0CAAqhAQGeAQEEe0F//Q8hAkHcAP0PIQQCQANAIAAgAU8NASAA/QAAACIFIAL9dyECIAUgBP0jIAP9UCEDIAD9AAAQIgUgAv13IQIgBSAE/SMgA/1QIQMgAP0AACAiBSAC/XchAiAFIAT9IyAD/VAhAyAA/QAAMCIFIAL9dyECIAUgBP0jIAP9UCEDIABBwABqIQAMAAsLIAJBIP0P/SYgA/1Q/VML';

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
    const clean = Buffer.alloc(KERNEL_MIN_BYTES, 0x41);
    const ok =
      !kernelHas(kernel, clean) && kernelHas(kernel, Buffer.alloc(KERNEL_MIN_BYTES, 0x1f)) && kernelHas(kernel, Buffer.alloc(KERNEL_MIN_BYTES, BACKSLASH));
    return ok ? kernel : undefined;
  } catch {
    return undefined; // no WebAssembly SIMD here: the JavaScript loop does the job
  }
}

function kernelHas(kernel: Kernel, buf: Uint8Array): boolean {
  const n = buf.length;
  if (kernel.view.length < n + KERNEL_PAD) {
    kernel.memory.grow(Math.ceil((n + KERNEL_PAD - kernel.view.length) / PAGE));
    kernel.view = new Uint8Array(kernel.memory.buffer);
  }
  kernel.view.set(buf, 0);
  kernel.view.fill(0x41, n, n + KERNEL_PAD);
  return kernel.check(0, n) !== 0;
}

const kernel = loadKernel();

/**
 * hasControlByteOrBackslashPortable is the JavaScript loop. For a 32-bit word x,
 * (x - 0x20202020) & ~x & 0x80808080 is non-zero exactly when a byte of x is below
 * 0x20, and the same test on x ^ 0x5c5c5c5c with 0x01010101 finds a backslash.
 */
export function hasControlByteOrBackslashPortable(buf: Uint8Array): boolean {
  const n = buf.length;
  let i = 0;
  while (i < n && ((buf.byteOffset + i) & 3) !== 0) if (breaks(buf[i++] as number)) return true;
  const words = (n - i) >>> 2;
  if (words > 0) {
    const w = new Int32Array(buf.buffer, buf.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      const x = w[k] as number;
      const y = x ^ 0x5c5c5c5c;
      if ((((x - 0x20202020) & ~x) | ((y - 0x01010101) & ~y)) & 0x80808080) return true;
    }
    i += words << 2;
  }
  while (i < n) if (breaks(buf[i++] as number)) return true;
  return false;
}

function breaks(byte: number): boolean {
  return byte < SPACE || byte === BACKSLASH;
}

/** hasControlByteOrBackslash is true when buf holds a byte below 0x20 or a backslash. */
export function hasControlByteOrBackslash(buf: Uint8Array): boolean {
  return kernel !== undefined && buf.length >= KERNEL_MIN_BYTES ? kernelHas(kernel, buf) : hasControlByteOrBackslashPortable(buf);
}

/** controlByteKernelLoaded says whether the WebAssembly kernel is in use (tests, diagnostics). */
export const controlByteKernelLoaded = kernel !== undefined;
