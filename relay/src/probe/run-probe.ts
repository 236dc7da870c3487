// runProbe: act as a daemon and as a client of one relay, run the handshake
// through it, stream envelopes both ways and check every plaintext. Both
// ends live in this process, so a failure can be pinned to the hop that
// caused it (dropped, altered, refused) instead of a bare timeout.
import { systemRandom, type RandomSource } from '../e2ee/index.js';
import type { ProbeOptions } from './options.js';
import { probePayload } from './payload.js';
import { roundTripSummary, type ProbeReport } from './report.js';
import { ProbeSession } from './session.js';
import { MAX_RECOVERIES_PER_FRAME } from './trouble.js';

/** ProbeDependencies lets tests inject randomness and observe progress. */
export interface ProbeDependencies {
  readonly random?: RandomSource;
  /** onFrameIntact is called after each frame that came back intact. */
  readonly onFrameIntact?: (index: number) => void;
}

/** ProbeRun is what the steps of one run share. */
interface ProbeRun {
  readonly session: ProbeSession;
  readonly options: ProbeOptions;
  readonly deps: ProbeDependencies;
  readonly errors: string[];
  readonly rtts: number[];
}

/** SendOutcome is how one attempt to send a frame ended. */
type SendOutcome = 'echo' | 'failed' | 'fatal' | 'trouble' | undefined;

/** runProbe performs one probe run; it never throws for relay misbehaviour, it reports it. */
export async function runProbe(options: ProbeOptions, deps: ProbeDependencies = {}): Promise<ProbeReport> {
  const random = deps.random ?? systemRandom;
  const startedAt = performance.now();
  const run: ProbeRun = { session: new ProbeSession(options, random), options, deps, errors: [], rtts: [] };

  const firstError = await run.session.establish(performance.now() + options.timeoutMs);
  if (firstError) run.errors.push(`handshake: ${firstError}`);
  for (let index = 1; index <= options.frames && run.errors.length === 0; index++) {
    await exchangeFrame(run, index, probePayload(index, options.bytes, random));
  }

  run.session.close();
  return buildReport(run, performance.now() - startedAt);
}

/** exchangeFrame sends one envelope and checks its echo, recovering from connection trouble when allowed. */
async function exchangeFrame(run: ProbeRun, index: number, text: string): Promise<void> {
  const { session, options, errors } = run;
  session.currentIndex = index;
  let counted = false;
  for (let recoveries = 0; ; recoveries++) {
    const rotationError = await awaitRotation(session, options.timeoutMs);
    if (rotationError) {
      errors.push(`rotation: ${rotationError}`);
      return;
    }
    const { sent, outcome, t0 } = await sendOnce(session, text, options.timeoutMs);
    if (sent && !counted) {
      session.counts.sent += 1;
      counted = true;
    }
    if (outcome === 'echo') {
      checkEcho(run, index, text, performance.now() - t0);
      return;
    }
    if (outcome === 'failed' || outcome === undefined) {
      session.counts.failed += 1;
      errors.push(
        `frame ${String(index)}: ${outcome === 'failed' ? session.frameFailure : `no echo within ${String(options.timeoutMs)} ms (dropped on the way)`}`,
      );
      return;
    }
    const recoveryError = await recover(run, recoveries);
    if (recoveryError) {
      session.counts.failed += 1;
      errors.push(`frame ${String(index)}: ${recoveryError}`);
      return;
    }
  }
}

/** awaitRotation waits for a re-key in flight to finish; the error when it did not (connection trouble is not one). */
async function awaitRotation(session: ProbeSession, timeoutMs: number): Promise<string | undefined> {
  if (!session.rekeyInFlight) return undefined;
  const rekeyed = await session.waitUntil(
    () => (!session.rekeyInFlight ? true : session.trouble || session.handshakeFailure ? false : undefined),
    timeoutMs,
  );
  if (rekeyed === true || session.troubleNow()) return undefined;
  return session.handshakeFailureNow() ?? `no re-key response within ${String(timeoutMs)} ms`;
}

/** sendOnce seals and sends text from the client, then waits for its echo or for whatever interrupts it; t0 is when it went out. */
async function sendOnce(
  session: ProbeSession,
  text: string,
  timeoutMs: number,
): Promise<{ sent: boolean; outcome: SendOutcome; t0: number }> {
  session.echo = undefined;
  session.frameFailure = undefined;
  const sealed = session.client.seal(text);
  const t0 = performance.now();
  const sent = sealed.ok && !session.troubleNow() && session.sendFromClient(sealed.frame);
  if (!sent) return { sent, outcome: 'trouble', t0 };
  const outcome = await session.waitUntil<Exclude<SendOutcome, undefined>>(
    () =>
      session.echo !== undefined
        ? 'echo'
        : session.frameFailure
          ? 'failed'
          : session.fatal
            ? 'fatal'
            : session.trouble
              ? 'trouble'
              : undefined,
    timeoutMs,
  );
  return { sent, outcome, t0 };
}

/** checkEcho counts an echoed frame as intact only if its plaintext is exactly what was sent. */
function checkEcho(run: ProbeRun, index: number, text: string, rttMs: number): void {
  const { session } = run;
  if (session.echo === text) {
    session.counts.intact += 1;
    run.rtts.push(rttMs);
    run.deps.onFrameIntact?.(index);
  } else {
    session.counts.failed += 1;
    run.errors.push(`frame ${String(index)}: the echoed plaintext differs from what was sent`);
  }
}

/**
 * recover reacts to connection trouble during a frame: redirects are always
 * followed, restarts only with --reconnect. The reason to give up, or
 * undefined once a fresh handshake completed.
 */
async function recover(run: ProbeRun, recoveries: number): Promise<string | undefined> {
  const { session, options } = run;
  const current = session.troubleNow();
  const fatalError = session.fatalNow();
  const reason = fatalError ?? current?.message ?? 'connection lost';
  const redirected = current?.redirect === true;
  if (fatalError || !(redirected || (options.reconnect && current?.retryable))) return reason;
  if (recoveries >= MAX_RECOVERIES_PER_FRAME) return `gave up after ${String(recoveries)} reconnects (last: ${reason})`;
  if (!redirected) session.counts.reconnects += 1;
  const recovered = await session.establish(performance.now() + options.reconnectWindowMs);
  return recovered ? `could not recover after "${reason}": ${recovered}` : undefined;
}

/** buildReport summarises the run; ok only if every requested frame came back intact. */
function buildReport(run: ProbeRun, durationMs: number): ProbeReport {
  const { session, options, errors } = run;
  const counts = session.counts;
  return {
    ok: errors.length === 0 && counts.intact === options.frames,
    url: options.url,
    workspaceId: options.workspaceId,
    runtimeTargetId: options.runtimeTargetId,
    profile: options.profile,
    kexVersion: options.kexVersion,
    handshakeMs: session.handshakeMs,
    handshakes: counts.handshakes,
    rotations: counts.rotations,
    reconnects: counts.reconnects,
    redirects: counts.redirects,
    frames: { requested: options.frames, sent: counts.sent, intact: counts.intact, failed: counts.failed },
    bytes: options.bytes,
    roundTripMs: roundTripSummary(run.rtts),
    durationMs,
    errors,
  };
}
