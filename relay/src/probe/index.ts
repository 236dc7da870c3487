// Public surface of `viewport-relay probe`.
export { probeCommand, type ProbeIo } from './command.js';
export { runProbe, type ProbeDependencies } from './run-probe.js';
export { PROBE_DEFAULTS, validateProbeSettings, type ProbeOptions, type ProbeSettings, type ProbeTokens, type RawProbeOptions } from './options.js';
export { formatReport, percentile, roundTripSummary, type ProbeReport } from './report.js';
