// Running kubectl against a control plane, for what the API client cannot show
// (printer columns, `kubectl scale`) and for applying YAML exactly as users do.
import { spawn } from 'node:child_process';

/** KubectlResult is kubectl's exit code and output. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** runKubectl runs `kubectl --kubeconfig <kubeconfig> ...args`, feeding `input`
 * on stdin; a non-zero exit is a result, not an exception. */
export async function runKubectl(
  kubectl: string,
  kubeconfig: string,
  args: readonly string[],
  input?: string,
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, [`--kubeconfig=${kubeconfig}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.end(input ?? '');
  });
}
