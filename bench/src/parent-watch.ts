// Preloaded (node --import) into every server the harness spawns: exits when
// the harness process disappears, so a SIGKILLed run leaves no orphans.
// One unref'd 1 Hz timer: no measurable cost, and the same for every server.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();
