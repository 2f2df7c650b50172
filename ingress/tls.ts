/**
 * TLS certificates by SNI name, from the `spec.tls` of owned Ingresses and
 * the Secrets they name.
 *
 * planCertificates is the pure part: which certificate each host gets, and
 * why a host falls back to the default one (a problem per Ingress, which the
 * controller turns into an Event). A missing Secret, one without a usable
 * tls.crt/tls.key pair, or a certificate that does not cover the host only
 * affects the hosts that name it. The oldest Ingress wins a host that two
 * claim. Secrets of any type are accepted when they carry both keys, as in
 * ingress-nginx; kubernetes.io/tls is the usual one.
 *
 * SniContexts is the edge: servers look names up through its SNICallback on
 * every handshake, so a new plan (certificate rotation, a new host) applies
 * to the next handshake while connections already open keep theirs.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Ingress, KubeObject, Secret } from '../controlplane/api/types.ts';
import type { ObjectName } from './options.ts';

export interface Certificate {
  /** `namespace/name` of the Secret, or a label for a certificate not from a Secret. */
  source: string;
  context: SecureContext;
  /** The PEMs the context was made from, for servers' own default context. */
  cert: string;
  key: string;
  x509: X509Certificate;
}

export interface TlsProblem {
  object: KubeObject;
  reason: string;
  message: string;
}

export interface CertificatePlan {
  /** Exact names and `*.parent` wildcards, lower case. */
  hosts: ReadonlyMap<string, Certificate>;
  defaultCertificate: Certificate;
  problems: TlsProblem[];
  /** Why --default-certificate is not in use, when it is not. */
  defaultCertificateProblem?: string;
}

export interface CertificateInputs {
  /** Owned Ingresses, oldest first. */
  ingresses: readonly Ingress[];
  secret(namespace: string, name: string): Secret | undefined;
  defaultCertificate?: ObjectName;
  /** Used when --default-certificate is not given or not usable. */
  fallback: Certificate;
}

type Parsed = { certificate: Certificate } | { error: string };

/**
 * Parsing and building a context costs about a millisecond; each Secret
 * object (replaced by the informer on every change) is parsed once.
 */
const parsedSecrets = new WeakMap<Secret, Parsed>();

function decode(secret: Secret, key: string): string | undefined {
  const text = secret.data?.[key];
  return text === undefined ? undefined : Buffer.from(text, 'base64').toString('utf8');
}

export function certificateFromPem(source: string, cert: string, key: string): Certificate {
  const x509 = new X509Certificate(cert);
  if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('tls.key does not belong to the certificate in tls.crt');
  return { source, context: createSecureContext({ cert, key }), cert, key, x509 };
}

function parseSecret(secret: Secret): Parsed {
  const cached = parsedSecrets.get(secret);
  if (cached) return cached;
  const cert = decode(secret, 'tls.crt');
  const key = decode(secret, 'tls.key');
  let parsed: Parsed;
  if (!cert || !key) {
    parsed = { error: 'has no tls.crt and tls.key' };
  } else {
    try {
      parsed = { certificate: certificateFromPem(`${secret.metadata.namespace}/${secret.metadata.name}`, cert, key) };
    } catch (error) {
      parsed = { error: `holds no usable certificate and key (${(error as Error).message})` };
    }
  }
  parsedSecrets.set(secret, parsed);
  return parsed;
}

export function planCertificates(inputs: CertificateInputs): CertificatePlan {
  const hosts = new Map<string, Certificate>();
  const problems: TlsProblem[] = [];
  for (const ingress of inputs.ingresses) {
    const namespace = ingress.metadata.namespace ?? 'default';
    for (const entry of ingress.spec?.tls ?? []) {
      const listed = (entry.hosts?.length ? entry.hosts : (ingress.spec.rules ?? []).map((rule) => rule.host ?? '')).filter((host) => host !== '').map((host) => host.toLowerCase());
      // No secretName: SNI routing alone, served with the default certificate (and still redirected to HTTPS).
      if (!entry.secretName || listed.length === 0) continue;
      const secretKey = `${namespace}/${entry.secretName}`;
      const fallingBack = (names: string[]) => `${names.join(', ')} ${names.length === 1 ? 'uses' : 'use'} the default certificate`;
      const secret = inputs.secret(namespace, entry.secretName);
      if (!secret) {
        problems.push({ object: ingress, reason: 'SecretNotFound', message: `secret ${secretKey} not found; ${fallingBack(listed)}` });
        continue;
      }
      const parsed = parseSecret(secret);
      if ('error' in parsed) {
        problems.push({ object: ingress, reason: 'InvalidCertificate', message: `secret ${secretKey} ${parsed.error}; ${fallingBack(listed)}` });
        continue;
      }
      const uncovered: string[] = [];
      for (const host of listed) {
        if (hosts.has(host)) continue;
        if (parsed.certificate.x509.checkHost(host) === undefined) uncovered.push(host);
        else hosts.set(host, parsed.certificate);
      }
      if (uncovered.length > 0) {
        problems.push({ object: ingress, reason: 'CertificateHostMismatch', message: `certificate in secret ${secretKey} does not cover ${fallingBack(uncovered)}` });
      }
    }
  }
  const { defaultCertificate, defaultCertificateProblem } = chooseDefault(inputs);
  return defaultCertificateProblem === undefined ? { hosts, defaultCertificate, problems } : { hosts, defaultCertificate, problems, defaultCertificateProblem };
}

function chooseDefault(inputs: CertificateInputs): { defaultCertificate: Certificate; defaultCertificateProblem?: string } {
  const wanted = inputs.defaultCertificate;
  if (!wanted) return { defaultCertificate: inputs.fallback };
  const secret = inputs.secret(wanted.namespace, wanted.name);
  const label = `--default-certificate ${wanted.namespace}/${wanted.name}`;
  if (!secret) return { defaultCertificate: inputs.fallback, defaultCertificateProblem: `${label}: secret not found; serving a self-signed certificate` };
  const parsed = parseSecret(secret);
  if ('error' in parsed) return { defaultCertificate: inputs.fallback, defaultCertificateProblem: `${label}: secret ${parsed.error}; serving a self-signed certificate` };
  return { defaultCertificate: parsed.certificate };
}

/** The certificate for an SNI name: exact, then the one-label wildcard, then the default. */
export function certificateFor(plan: CertificatePlan, servername: string): Certificate {
  const name = servername.toLowerCase();
  const exact = plan.hosts.get(name);
  if (exact) return exact;
  const dot = name.indexOf('.');
  return (dot > 0 ? plan.hosts.get(`*${name.slice(dot)}`) : undefined) ?? plan.defaultCertificate;
}

export class SniContexts {
  #plan: CertificatePlan;
  readonly #defaultListeners = new Set<(certificate: Certificate) => void>();

  constructor(plan: CertificatePlan) {
    this.#plan = plan;
  }

  get plan(): CertificatePlan {
    return this.#plan;
  }

  /**
   * Handshakes without SNI never reach SNICallback; they get the server's own
   * context, so servers install the default certificate through this.
   */
  onDefaultChange(listener: (certificate: Certificate) => void): void {
    this.#defaultListeners.add(listener);
  }

  update(plan: CertificatePlan): void {
    const previous = this.#plan;
    this.#plan = plan;
    if (plan.defaultCertificate === previous.defaultCertificate) return;
    for (const listener of this.#defaultListeners) listener(plan.defaultCertificate);
  }

  readonly SNICallback = (servername: string, callback: (error: Error | null, context?: SecureContext) => void): void => {
    callback(null, certificateFor(this.#plan, servername).context);
  };
}
