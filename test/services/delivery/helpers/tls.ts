// Certificates for the delivery TLS tests, made with openssl at test time in a fresh folder
// (no private key is ever committed): a self-signed server certificate, and a private CA (an
// office's own) with server certificates it signed. EC keys: quick to make on a busy machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ServerCert {
  key: Buffer;
  cert: Buffer;
  /** Path of the certificate (PEM), e.g. for delivery.tlsCaFile when self-signed. */
  certPath: string;
}

export interface TestPki {
  dir: string;
  /** Self-signed, CN=localhost, SAN DNS:localhost, IP:127.0.0.1. */
  selfSigned: ServerCert;
  /** The private CA's certificate (PEM path). */
  caPath: string;
  /** Signed by the CA for `names` (SAN entries such as `DNS:localhost`, `IP:127.0.0.1`). */
  issue(name: string, names: string[]): ServerCert;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore', timeout: 30_000 });
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sekisho-dlv-tls-'));
  const p = (n: string) => join(dir, n);
  openssl(['req', '-x509', ...EC, '-keyout', p('self.key'), '-out', p('self.pem'), '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  openssl(['req', '-x509', ...EC, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=Sekisho Test Office CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const read = (n: string): ServerCert => ({ key: readFileSync(p(`${n}.key`)), cert: readFileSync(p(`${n}.pem`)), certPath: p(`${n}.pem`) });
  return {
    dir,
    selfSigned: read('self'),
    caPath: p('ca.pem'),
    issue(name, names) {
      openssl(['req', ...EC, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${name}`]);
      writeFileSync(p(`${name}.ext`), `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      openssl(['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
        '-out', p(`${name}.pem`), '-days', '2', '-extfile', p(`${name}.ext`)]);
      return read(name);
    },
  };
}
