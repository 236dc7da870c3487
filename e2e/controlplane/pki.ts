// Throwaway PKI for one control plane: a CA, the API server's serving cert,
// client certs for each component, and the service-account signing key.
// Node cannot issue X.509 certificates, so this shells out to openssl.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** KeyPair is a PEM certificate and key on disk. */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** ClientIdentity is who a client certificate authenticates as (CN = user, O = groups). */
export interface ClientIdentity {
  readonly user: string;
  readonly groups: readonly string[];
}

/** Pki lists the files generatePki wrote. */
export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serving: KeyPair;
  readonly clients: Readonly<Record<string, KeyPair>>;
  readonly serviceAccountKey: string;
  readonly serviceAccountPublicKey: string;
}

const validDays = '30';

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** subjectFor builds an openssl -subj string; '/' and ',' never occur in our names. */
export function subjectFor(identity: ClientIdentity): string {
  return identity.groups.map((g) => `/O=${g}`).join('') + `/CN=${identity.user}`;
}

function issue(dir: string, name: string, subject: string, extensions: readonly string[], ca: KeyPair): KeyPair {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions.join('\n') + '\n');
  openssl(['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', key, '-out', csr, '-subj', subject]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key,
    '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', validDays, '-extfile', ext, '-out', cert]);
  return { cert, key };
}

/** generatePki writes a fresh CA and every certificate the control plane needs
 * into dir; `clients` names each client cert and who it authenticates as. */
export function generatePki(dir: string, clients: Readonly<Record<string, ClientIdentity>>): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca: KeyPair = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  const caConfig = join(dir, 'ca.cnf');
  // An explicit config keeps the result independent of the system openssl.cnf.
  writeFileSync(caConfig, [
    '[req]', 'distinguished_name = dn', 'x509_extensions = ca', '[dn]',
    '[ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
    'subjectKeyIdentifier = hash', '',
  ].join('\n'));
  openssl(['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-config', caConfig, '-keyout', ca.key, '-out', ca.cert, '-days', validDays, '-subj', '/CN=viewport-e2e-ca']);

  const leaf = ['basicConstraints = CA:FALSE', 'keyUsage = critical,digitalSignature,keyEncipherment'];
  const serving = issue(dir, 'apiserver', '/CN=kube-apiserver', [
    ...leaf,
    'extendedKeyUsage = serverAuth',
    'subjectAltName = IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
  ], ca);
  const issued: Record<string, KeyPair> = {};
  for (const [name, identity] of Object.entries(clients)) {
    issued[name] = issue(dir, `client-${name}`, subjectFor(identity), [...leaf, 'extendedKeyUsage = clientAuth'], ca);
  }

  const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPublicKey = join(dir, 'sa.pub');
  writeFileSync(serviceAccountKey, sa.privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(serviceAccountPublicKey, sa.publicKey.export({ type: 'spki', format: 'pem' }));

  return { caCert: ca.cert, caKey: ca.key, serving, clients: issued, serviceAccountKey, serviceAccountPublicKey };
}
