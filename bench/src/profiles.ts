// Run profiles: how long and how many rounds each scenario gets.

/** Profile sizes one benchmark run. */
export interface Profile {
  name: 'quick' | 'full';
  rounds: number;
  warmupMs: number;
  measureMs: number;
  latencyMs: number;
  memoryRounds: number;
  memoryDaemons: number;
  memoryClientsPerDaemon: number;
  /** memorySettleMs bounds the wait for RSS to settle after the connections are set up. */
  memorySettleMs: number;
  /** memoryHoldMs keeps the idle population up this long after measuring, so a server can be inspected. */
  memoryHoldMs: number;
  connectCount: number;
  connectConcurrency: number;
  crossRounds: number;
  /** deadlineMs bounds the whole run; past it every child is killed and the run fails. */
  deadlineMs: number;
}

/** QUICK is the CI smoke profile: under about three minutes on a 2-core machine. */
export const QUICK: Profile = {
  name: 'quick',
  rounds: 3,
  warmupMs: 300,
  measureMs: 1200,
  latencyMs: 1500,
  memoryRounds: 1,
  memoryDaemons: 500,
  memoryClientsPerDaemon: 4,
  memorySettleMs: 5000,
  memoryHoldMs: 0,
  connectCount: 300,
  connectConcurrency: 32,
  crossRounds: 2,
  deadlineMs: 6 * 60_000,
};

/** FULL is the profile whose figures go into docs/performance.md. */
export const FULL: Profile = {
  name: 'full',
  rounds: 5,
  warmupMs: 1000,
  measureMs: 5000,
  latencyMs: 10000,
  memoryRounds: 3,
  memoryDaemons: 500,
  memoryClientsPerDaemon: 4,
  memorySettleMs: 15000,
  memoryHoldMs: 0,
  connectCount: 2000,
  connectConcurrency: 32,
  crossRounds: 3,
  deadlineMs: 30 * 60_000,
};
