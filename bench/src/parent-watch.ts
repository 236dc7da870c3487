// Preloaded (node --import) into every server the harness spawns: exits when
// the harness process disappears, so a SIGKILLed run leaves no orphans.
// One unref'd 1 Hz timer: no measurable cost, and the same for every server.
// GC_SIGNAL (gc-signal.ts) runs a full garbage collection when the
// server has --expose-gc: the idle-memory scenario reads RSS after one, so a
// young generation grown by a burst of set-up garbage is not counted as memory
// per connection.
import { GC_SIGNAL } from './gc-signal.js';

const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();

// flavor 'last-resort' is V8's memory-reducing collection (what a low-memory
// notification runs): it also shrinks the young generation, which a plain gc() keeps.
const gc = (globalThis as { gc?: (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void }).gc;
if (gc !== undefined) {
  process.on(GC_SIGNAL, () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' }));
}
