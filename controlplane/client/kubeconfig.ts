/**
 * Reads a kubeconfig as kubectl does for one context: the cluster's server,
 * CA and TLS settings, and the user's token or client certificate. Inline
 * `-data` fields win over file fields, and file paths are relative to the
 * kubeconfig's own directory.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { UsageError } from '../../common/errors.ts';
import { parseServerAddress, type Connection } from './http-client.ts';

export interface KubeconfigOptions {
  /** Use this context instead of the file's current-context. */
  context?: string;
}

type Fields = Record<string, unknown>;

/** Credentials kplane cannot produce itself; failing early beats a stream of 401s. */
const unsupportedUserFields: Record<string, string> = {
  exec: 'exec credential plugins',
  'auth-provider': 'auth-provider plugins',
  username: 'basic authentication',
};

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function loadKubeconfig(path: string, options: KubeconfigOptions = {}): Connection {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`kubeconfig ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseKubeconfig(text, path, options);
}

/** `path` names the file in errors and anchors relative file fields. */
export function parseKubeconfig(text: string, path: string, options: KubeconfigOptions = {}): Connection {
  const fail = (message: string) => new UsageError(`kubeconfig ${path}: ${message}`);
  let config: unknown;
  try {
    config = parse(text);
  } catch (error) {
    throw fail(`not valid YAML (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  if (!isFields(config)) throw fail('not a kubeconfig (expected a mapping with clusters, contexts and users)');

  const named = (section: 'clusters' | 'contexts' | 'users', field: 'cluster' | 'context' | 'user', name: string): Fields | undefined => {
    const entries = config[section];
    if (!Array.isArray(entries)) return undefined;
    for (const entry of entries as unknown[]) {
      if (isFields(entry) && entry['name'] === name) return isFields(entry[field]) ? entry[field] : {};
    }
    return undefined;
  };
  const stringField = (fields: Fields, key: string): string | undefined => {
    const value = fields[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw fail(`${key} must be a string`);
    return value;
  };
  const directory = dirname(resolve(path));
  const fileOrData = (fields: Fields, fileKey: string): Buffer | undefined => {
    const data = stringField(fields, `${fileKey}-data`);
    if (data !== undefined) return Buffer.from(data, 'base64');
    const file = stringField(fields, fileKey);
    if (file === undefined) return undefined;
    const filePath = resolve(directory, file);
    try {
      return readFileSync(filePath);
    } catch (error) {
      throw fail(`${fileKey} ${filePath}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  };

  const contextName = options.context ?? stringField(config, 'current-context');
  if (contextName === undefined) throw fail('no current-context is set; pass a context');
  const context = named('contexts', 'context', contextName);
  if (context === undefined) throw fail(`context "${contextName}" not found`);

  const clusterName = stringField(context, 'cluster');
  if (clusterName === undefined) throw fail(`context "${contextName}" names no cluster`);
  const cluster = named('clusters', 'cluster', clusterName);
  if (cluster === undefined) throw fail(`cluster "${clusterName}" (of context "${contextName}") not found`);
  const server = stringField(cluster, 'server');
  if (server === undefined) throw fail(`cluster "${clusterName}" has no server`);
  try {
    parseServerAddress(server);
  } catch (error) {
    throw fail(`cluster "${clusterName}": ${(error as Error).message}`);
  }

  const connection: Connection = { server };
  const ca = fileOrData(cluster, 'certificate-authority');
  if (ca !== undefined) connection.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) connection.insecureSkipTlsVerify = true;
  const tlsServerName = stringField(cluster, 'tls-server-name');
  if (tlsServerName !== undefined) connection.tlsServerName = tlsServerName;

  // A context without a user is valid: the requests go unauthenticated.
  const userName = stringField(context, 'user');
  if (userName === undefined) return connection;
  const user = named('users', 'user', userName);
  if (user === undefined) throw fail(`user "${userName}" (of context "${contextName}") not found`);
  for (const [field, what] of Object.entries(unsupportedUserFields)) {
    if (user[field] !== undefined) throw fail(`user "${userName}" uses ${what}, which kplane does not support; use a token, tokenFile or client certificate`);
  }
  const token = stringField(user, 'token');
  if (token !== undefined) connection.token = token;
  const tokenFile = stringField(user, 'tokenFile');
  if (tokenFile !== undefined) connection.tokenFile = resolve(directory, tokenFile);
  const cert = fileOrData(user, 'client-certificate');
  const key = fileOrData(user, 'client-key');
  if ((cert === undefined) !== (key === undefined)) throw fail(`user "${userName}" needs both client-certificate and client-key`);
  if (cert !== undefined && key !== undefined) {
    connection.cert = cert;
    connection.key = key;
  }
  return connection;
}
