/**
 * Legacy (non-aggregated) discovery documents: /version, /api, /apis,
 * /apis/{group}, /api/v1 and /apis/{group}/{version}. Everything is derived
 * from `resources`, so a new kind shows up in discovery by being listed there.
 */
import { createHash } from 'node:crypto';
import { resources, resourceVerbs, type ResourceInfo } from './resources.ts';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export interface GroupVersionForDiscovery {
  groupVersion: string;
  version: string;
}

export interface APIVersions {
  kind: 'APIVersions';
  versions: string[];
  serverAddressByClientCIDRs: { clientCIDR: string; serverAddress: string }[];
}

export interface APIGroup {
  kind: 'APIGroup';
  apiVersion: 'v1';
  name: string;
  versions: GroupVersionForDiscovery[];
  preferredVersion: GroupVersionForDiscovery;
}

export interface APIGroupList {
  kind: 'APIGroupList';
  apiVersion: 'v1';
  groups: Omit<APIGroup, 'kind' | 'apiVersion'>[];
}

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  storageVersionHash?: string;
}

export interface APIResourceList {
  kind: 'APIResourceList';
  /** kube-apiserver omits it for the core group (/api/v1) and sends "v1" for named groups. */
  apiVersion?: 'v1';
  groupVersion: string;
  resources: APIResource[];
}

/**
 * The kubectl on PATH is Google's dispatcher: it runs `kubectl.<major>.<minor>`,
 * so major/minor pick the client under test. The `+kplane` build suffix follows
 * the k3s convention (`v1.32.1+k3s1`) and stays valid semver for skew checks.
 */
const kubernetesMinor = '32';
const gitVersion = `v1.${kubernetesMinor}.0+kplane`;

/**
 * GET /version. Fields that describe a Go build do not apply to kplane and are
 * left empty; buildDate is apimachinery's own "not stamped" value. `platform`
 * is GOOS/GOARCH style ("linux/arm64"); the caller knows the host.
 */
export function versionInfo(platform = 'linux/amd64'): VersionInfo {
  return {
    major: '1',
    minor: kubernetesMinor,
    gitVersion,
    gitCommit: '',
    gitTreeState: '',
    buildDate: '1970-01-01T00:00:00Z',
    goVersion: '',
    compiler: '',
    platform,
  };
}

/** GET /api. kube-apiserver answers every client CIDR with its own advertised address. */
export function coreApiVersions(serverAddress: string): APIVersions {
  return {
    kind: 'APIVersions',
    versions: versionsOf(''),
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** GET /apis: every named group, in the order `resources` first mentions it. */
export function apiGroupList(): APIGroupList {
  const names = [...new Set(resources.filter((r) => r.group !== '').map((r) => r.group))];
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: names.map((name) => groupBody(name)),
  };
}

/** GET /apis/{group}; undefined for the core group and unknown groups. */
export function apiGroup(group: string): APIGroup | undefined {
  if (group === '' || !resources.some((r) => r.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupBody(group) };
}

/** GET /api/v1 (group "") and /apis/{group}/{version}; undefined for an unknown group-version. */
export function apiResourceList(group: string, version: string): APIResourceList | undefined {
  const infos = resources.filter((r) => r.group === group && r.version === version);
  if (infos.length === 0) return undefined;
  const entries = infos.flatMap((info) => (info.hasStatus ? [mainResource(info), statusSubresource(info)] : [mainResource(info)]));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    kind: 'APIResourceList',
    ...(group === '' ? {} : { apiVersion: 'v1' as const }),
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: entries,
  };
}

function versionsOf(group: string): string[] {
  return [...new Set(resources.filter((r) => r.group === group).map((r) => r.version))];
}

function groupBody(name: string): Omit<APIGroup, 'kind' | 'apiVersion'> {
  const versions = versionsOf(name).map((version) => ({ groupVersion: `${name}/${version}`, version }));
  const [preferredVersion] = versions;
  if (preferredVersion === undefined) throw new Error(`group ${name} has no versions`);
  return { name, versions, preferredVersion };
}

function mainResource(info: ResourceInfo): APIResource {
  return {
    name: info.resource,
    singularName: info.singular,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: [...resourceVerbs],
    ...(info.shortNames.length > 0 ? { shortNames: [...info.shortNames] } : {}),
    ...(info.categories.length > 0 ? { categories: [...info.categories] } : {}),
    storageVersionHash: storageVersionHash(info),
  };
}

/** kube-apiserver lists subresources with an empty singularName and the parent's kind. */
function statusSubresource(info: ResourceInfo): APIResource {
  return {
    name: `${info.resource}/status`,
    singularName: '',
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: ['get', 'patch', 'update'],
  };
}

/**
 * apiserver's `discovery.StorageVersionHash`: base64 of the first 8 bytes of
 * sha256("<group>/<version>/<kind>"). Clients use it to notice storage
 * version changes; matching upstream keeps the values familiar
 * (services → "0/CO1lhkEBI=").
 */
function storageVersionHash(info: ResourceInfo): string {
  return createHash('sha256').update(`${info.group}/${info.version}/${info.kind}`).digest().subarray(0, 8).toString('base64');
}
