/**
 * The certificate authority of one --intercept run: a CA made up for the run, and a certificate for each
 * intercepted host signed by it. X.509 is built by @peculiar/x509 over Node's WebCrypto, so every key
 * is made and every signature computed by OpenSSL; the CA's private key is generated non-extractable:
 * it can sign, but it cannot be exported, and it never leaves this process's memory. Only the CA's
 * certificate is written, into the run's temporary directory, so that clients can trust it.
 */
// tsyringe (used inside @peculiar/x509) needs the Reflect metadata API; this module is loaded only for --intercept.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type SecureContext, createSecureContext } from 'node:tls';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const HOUR_MS = 3600 * 1000;
/** Long enough for any run, short enough that a leaked certificate is soon worthless. */
const VALID_FOR_MS = 24 * HOUR_MS;

export interface RunAuthority {
  /** PEM file of the CA's certificate, in the run's temporary directory. */
  readonly caFile: string;
  readonly caPem: string;
  /** A TLS context presenting a certificate for `host`, signed by the CA (made once per host). */
  contextFor(host: string): Promise<SecureContext>;
}

const serialNumber = () => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // a positive INTEGER
  return bytes.toString('hex');
};

/** Makes the run's CA and writes its certificate (never its key) to `dir`/intercept-ca.pem. */
export async function createRunAuthority(dir: string): Promise<RunAuthority> {
  const notBefore = new Date(Date.now() - HOUR_MS);
  const notAfter = new Date(Date.now() + VALID_FOR_MS);
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caName = `CN=Box conformance kit interception CA ${randomBytes(4).toString('hex')}, O=box-chunked-upload-conformance`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const caPem = ca.toString('pem');
  const caFile = join(dir, 'intercept-ca.pem');
  await writeFile(caFile, `${caPem}\n`, { mode: 0o644 });
  const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(ca, false);

  const issue = async (host: string): Promise<SecureContext> => {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: `CN=${host}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: host }], false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        authorityKeyId,
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
    return createSecureContext({ key, cert: certificate.toString('pem'), minVersion: 'TLSv1.2' });
  };
  const contexts = new Map<string, Promise<SecureContext>>();
  return {
    caFile,
    caPem,
    contextFor: (host) => {
      let context = contexts.get(host);
      if (!context) {
        context = issue(host);
        contexts.set(host, context);
      }
      return context;
    },
  };
}
