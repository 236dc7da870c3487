// Every way the relay refuses an upgrade before the 101, in one table: the
// HTTP status written (or none: the socket is just destroyed), the
// relay_upgrade_rejections_total reason, and the reference counter that moves
// with it. The upgrade steps return a refusal name; refuse() applies its row.
import type { Duplex } from 'node:stream';
import type { CompatCounter, RelayMetrics } from '../admin/metrics.js';
import { rejectUpgrade, type UpgradeRejectReason } from '../net/reject.js';

/** UpgradeRefusal names one reason an upgrade is refused (a 405 and a 400 handshake share a label). */
export type UpgradeRefusal = Exclude<UpgradeRejectReason, 'bad_handshake'> | 'bad_method' | 'bad_handshake';

/** RefusalRow is what refusing costs: the status line (null: destroy without one), the label, a counter. */
export interface RefusalRow {
  readonly status: 400 | 401 | 403 | 405 | 429 | 503 | null;
  readonly label: UpgradeRejectReason;
  readonly counter?: CompatCounter;
}

/** UPGRADE_REFUSALS is the table, in the order the checks run (docs/protocol.md#upgrade-checks). */
export const UPGRADE_REFUSALS: Readonly<Record<UpgradeRefusal, RefusalRow>> = {
  draining: { status: 503, label: 'draining' },
  ip_rate_limited: { status: 429, label: 'ip_rate_limited', counter: 'upgrade_rate_limited_total' },
  total_connections: { status: 503, label: 'total_connections', counter: 'upgrade_rejected_total_connections_total' },
  ip_connections: { status: 429, label: 'ip_connections', counter: 'upgrade_rejected_ip_connections_total' },
  // Not a WebSocket endpoint: no status line is owed.
  bad_path: { status: null, label: 'bad_path' },
  origin_not_allowed: { status: 403, label: 'origin_not_allowed' },
  bad_method: { status: 405, label: 'bad_handshake' },
  bad_handshake: { status: 400, label: 'bad_handshake' },
  invalid_query: { status: 400, label: 'invalid_query', counter: 'upgrade_invalid_query_total' },
  missing_token: { status: 401, label: 'missing_token', counter: 'upgrade_missing_auth_total' },
  query_token_not_allowed: { status: 401, label: 'query_token_not_allowed', counter: 'upgrade_missing_auth_total' },
  admission_denied: { status: 401, label: 'admission_denied', counter: 'admission_denied_total' },
  admission_forbidden: { status: 403, label: 'admission_forbidden', counter: 'admission_denied_total' },
  admission_unavailable: { status: 503, label: 'admission_unavailable', counter: 'admission_denied_total' },
  workspace_clients: { status: 429, label: 'workspace_clients', counter: 'upgrade_rejected_workspace_clients_total' },
  handshake_timeout: { status: 503, label: 'handshake_timeout' },
};

/** refuse applies a refusal's row to the socket and the metrics. */
export function refuse(socket: Duplex, refusal: UpgradeRefusal, metrics: RelayMetrics): void {
  const row = UPGRADE_REFUSALS[refusal];
  if (row.counter !== undefined) metrics.inc(row.counter);
  metrics.rejectUpgrade(row.label);
  if (row.status === null) socket.destroy();
  else rejectUpgrade(socket, row.status);
}
