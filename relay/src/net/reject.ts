// Raw upgrade rejections (docs/protocol.md#upgrade-checks): exactly `HTTP/1.1 <code> <text>\r\n\r\n`,
// no headers, no body, then the socket is closed. In net/, a leaf that imports
// nothing from the relay: the public server and the peer-link listener share it.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** UpgradeRejectReason labels relay_upgrade_rejections_total. */
export type UpgradeRejectReason =
  | 'draining'
  | 'ip_rate_limited'
  | 'total_connections'
  | 'ip_connections'
  | 'bad_path'
  | 'origin_not_allowed'
  | 'bad_handshake'
  | 'invalid_query'
  | 'missing_token'
  | 'query_token_not_allowed'
  | 'workspace_clients'
  | 'admission_denied'
  | 'admission_forbidden'
  | 'admission_unavailable'
  | 'handshake_timeout';

/** rejectUpgrade writes the status line and closes the socket once it is flushed. */
export function rejectUpgrade(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n\r\n`);
}
