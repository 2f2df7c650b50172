/**
 * Validation of the objects the API store accepts, after the rules of
 * kube-apiserver (pkg/apis/core/validation, networking/validation,
 * discovery/validation and apimachinery's field errors): every problem is
 * returned, each with its field path, its reason and the message
 * kube-apiserver would give, so kubectl prints the same lines.
 *
 * Services are checked in the form they will be stored: on an update the
 * fields the store carries over from the old object (clusterIP, nodePorts,
 * healthCheckNodePort) are filled in first, and values the allocator fills
 * in later (clusterIPs, nodePorts, healthCheckNodePort, ipFamilies) are
 * checked when present but never required.
 */
import { resources, type ResourceInfo } from '../api/resources.ts';
import type {
  ConfigMap,
  Container,
  Endpoints,
  EndpointSlice,
  Event,
  IngressBackend,
  IngressClass,
  Ingress,
  KubeObject,
  Namespace,
  ObjectMeta,
  Pod,
  Secret,
  Service,
  ServicePort,
  StatusCause,
} from '../api/types.ts';
import { parseCidr, parseIp, type ParsedIp } from '../allocators/ip-range.ts';
import {
  isExternallyAccessible,
  isHeadless,
  needsHealthCheckNodePort,
  prepareServiceUpdate,
  serviceType,
} from '../allocators/service-allocator.ts';

// ---- Causes and their messages (apimachinery field.Error.ErrorBody) ----

/** Go's %q: how kube-apiserver quotes strings in messages. */
function goQuote(text: string): string {
  const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (named[ch] !== undefined) out += named[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Numbers and booleans bare, strings quoted, everything else as JSON, as field errors render values. */
function render(value: unknown): string {
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value ?? null);
}

function cause(reason: string, field: string, head: string, detail = ''): StatusCause {
  return { reason, message: detail ? `${head}: ${detail}` : head, field };
}

const required = (field: string, detail = '') => cause('FieldValueRequired', field, 'Required value', detail);
const invalid = (field: string, value: unknown, detail: string) => cause('FieldValueInvalid', field, `Invalid value: ${render(value)}`, detail);
const duplicate = (field: string, value: unknown) => cause('FieldValueDuplicate', field, `Duplicate value: ${render(value)}`);
const forbidden = (field: string, detail: string) => cause('FieldValueForbidden', field, 'Forbidden', detail);
const tooLong = (field: string, maxBytes: number) => cause('FieldValueTooLong', field, 'Too long', `may not be more than ${maxBytes} bytes`);
const tooMany = (field: string, actual: number, max: number) => cause('FieldValueTooMany', field, `Too many: ${actual}`, `must have at most ${max} items`);
const notSupported = (field: string, value: unknown, supported: readonly string[]) =>
  cause('FieldValueNotSupported', field, `Unsupported value: ${render(value)}`, `supported values: ${supported.map(goQuote).join(', ')}`);

const invalidEach = (field: string, value: unknown, messages: readonly string[]) => messages.map((message) => invalid(field, value, message));

/**
 * The Status message of a 422, exactly as kube-apiserver builds it:
 * `Service "web" is invalid: spec.ports[0].port: Invalid value: 0: ...`, with
 * several causes as `[cause1, cause2]`. Kinds outside the core group are
 * qualified (`Ingress.networking.k8s.io`), looked up by kind in the served
 * resources.
 */
export function invalidMessage(kind: string, name: string, causes: readonly StatusCause[]): string {
  const group = resources.find((info) => info.kind === kind)?.group ?? '';
  const qualified = group === '' ? kind : `${kind}.${group}`;
  const lines = [...new Set(causes.map((c) => `${c.field ?? ''}: ${c.message ?? ''}`))];
  const body = lines.length === 1 ? lines[0] : `[${lines.join(', ')}]`;
  return `${qualified} ${goQuote(name)} is invalid: ${body}`;
}

// ---- Formats (apimachinery util/validation and api/validate/content) ----

/** Byte for byte as upstream, including its "'my-name',  or '123-abc', " spacing. */
function regexError(message: string, format: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${format}')`;
  return `${message} (e.g. ${examples.map((example) => `'${example}', `).join(' or ')}regex used for validation is '${format}')`;
}

const maxLenError = (length: number) => `must be no more than ${length} characters`;
const inclusiveRangeError = (low: number, high: number) => `must be between ${low} and ${high}, inclusive`;
const emptyError = 'must be non-empty';

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const labelKeyFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const labelValueFmt = `(${labelKeyFmt})?`;
const configMapKeyFmt = '[-._a-zA-Z0-9]+';
const wildcardSubdomainFmt = `\\*\\.${dns1123SubdomainFmt}`;
const httpPathFmt = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";

const whole = (format: string) => new RegExp(`^${format}$`);
const dns1123LabelRe = whole(dns1123LabelFmt);
const dns1123SubdomainRe = whole(dns1123SubdomainFmt);
const dns1035LabelRe = whole(dns1035LabelFmt);
const labelKeyRe = whole(labelKeyFmt);
const labelValueRe = whole(labelValueFmt);
const configMapKeyRe = whole(configMapKeyFmt);
const wildcardSubdomainRe = whole(wildcardSubdomainFmt);
const httpPathRe = whole(httpPathFmt);

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

function isDNS1123Label(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push(maxLenError(63));
  if (!dns1123LabelRe.test(value)) {
    errors.push(
      dns1123SubdomainRe.test(value)
        ? 'must not contain dots'
        : regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", dns1123LabelFmt, 'my-name', '123-abc'),
    );
  }
  return errors;
}

function isDNS1123Subdomain(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push(maxLenError(253));
  if (!dns1123SubdomainRe.test(value)) {
    errors.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", dns1123SubdomainFmt, 'example.com'));
  }
  return errors;
}

function isDNS1035Label(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push(maxLenError(63));
  if (!dns1035LabelRe.test(value)) {
    errors.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", dns1035LabelFmt, 'my-name', 'abc-123'));
  }
  return errors;
}

function isWildcardDNS1123Subdomain(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push(maxLenError(253));
  if (!wildcardSubdomainRe.test(value)) {
    errors.push(
      regexError(
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character",
        wildcardSubdomainFmt,
        '*.example.com',
      ),
    );
  }
  return errors;
}

/** A label key, which kube-apiserver also calls a qualified name: optional DNS prefix, '/', name. */
function isQualifiedName(value: string): string[] {
  const nameError = regexError("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", labelKeyFmt, 'MyName', 'my.name', '123-abc');
  const parts = value.split('/');
  if (parts.length > 2) return [`a valid label key ${nameError} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  const errors: string[] = [];
  const name = parts.length === 2 ? (parts[1] as string) : value;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    if (prefix.length === 0) errors.push(`prefix part ${emptyError}`);
    else errors.push(...isDNS1123Subdomain(prefix).map((message) => `prefix part ${message}`));
  }
  if (name.length === 0) errors.push(`name part ${emptyError}`);
  else if (name.length > 63) errors.push(`name part ${maxLenError(63)}`);
  if (!labelKeyRe.test(name)) errors.push(`name part ${nameError}`);
  return errors;
}

function isLabelValue(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push(maxLenError(63));
  if (!labelValueRe.test(value)) {
    errors.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", labelValueFmt, 'MyValue', 'my_value', '12345'));
  }
  return errors;
}

function isConfigMapKey(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push(maxLenError(253));
  if (!configMapKeyRe.test(value)) errors.push(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", configMapKeyFmt, 'key.name', 'KEY_NAME', 'key-name'));
  if (value === '.') errors.push("must not be '.'");
  else if (value === '..') errors.push("must not be '..'");
  else if (value.startsWith('..')) errors.push("must not start with '..'");
  return errors;
}

function isValidPortNum(port: unknown): string[] {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

function isValidPortName(name: string): string[] {
  const errors: string[] = [];
  if (name.length > 15) errors.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(name)) errors.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errors.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errors.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) errors.push('must not begin or end with a hyphen');
  return errors;
}

function isPathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return ['/', '%'].filter((illegal) => name.includes(illegal)).map((illegal) => `may not contain '${illegal}'`);
}

type NameRule = (name: string) => string[];

/** A generateName prefix may end in '-': it is checked as if its end were a letter. */
function asPrefix(rule: NameRule): NameRule {
  return (name) => rule(name.endsWith('-') && name.length >= 2 ? `${name.slice(0, -2)}a` : name);
}

const validIpMessage = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

function validIP(field: string, value: unknown): StatusCause[] {
  return typeof value === 'string' && parseIp(value) ? [] : [invalid(field, value, validIpMessage)];
}

function inPrefix(ip: ParsedIp, family: ParsedIp['family'], network: bigint, prefix: number): boolean {
  if (ip.family !== family) return false;
  const bits = family === 'IPv4' ? 32 : 128;
  return ip.value >> BigInt(bits - prefix) === network >> BigInt(bits - prefix);
}

/** Unspecified, loopback and link-local addresses make no sense as endpoints or external IPs (ValidateNonSpecialIP). */
function nonSpecialIP(field: string, text: string): StatusCause[] {
  const ip = parseIp(text);
  if (!ip) return [invalid(field, text, 'must be a valid IP address')];
  const causes: StatusCause[] = [];
  if (ip.value === 0n) causes.push(invalid(field, text, `may not be unspecified (${text})`));
  if (inPrefix(ip, 'IPv4', 0x7f000000n, 8) || (ip.family === 'IPv6' && ip.value === 1n)) {
    causes.push(invalid(field, text, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  }
  if (inPrefix(ip, 'IPv4', 0xa9fe0000n, 16) || inPrefix(ip, 'IPv6', 0xfe80n << 112n, 10)) {
    causes.push(invalid(field, text, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  }
  const ffx2 = ip.family === 'IPv6' && ip.value >> 120n === 0xffn && ((ip.value >> 112n) & 0x0fn) === 0x02n;
  if (inPrefix(ip, 'IPv4', 0xe0000000n, 24) || ffx2) {
    causes.push(invalid(field, text, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  }
  return causes;
}

function validCIDR(field: string, value: string): StatusCause[] {
  return parseCidr(value) ? [] : [invalid(field, value, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)')];
}

function validLabels(labels: unknown, field: string): StatusCause[] {
  if (typeof labels !== 'object' || labels === null) return [];
  return Object.entries(labels as Record<string, unknown>).flatMap(([key, value]) => [
    ...invalidEach(field, key, isQualifiedName(key)),
    ...invalidEach(field, value, isLabelValue(String(value))),
  ]);
}

// ---- Object metadata (apimachinery ValidateObjectMeta and core's finalizer rule) ----

const standardFinalizers = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

function validateFinalizer(field: string, finalizer: string): StatusCause[] {
  const causes = invalidEach(field, finalizer, isQualifiedName(finalizer));
  if (!finalizer.includes('/') && !standardFinalizers.has(finalizer)) {
    causes.push(invalid(field, finalizer, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  return causes;
}

function validateObjectMeta(info: ResourceInfo, meta: ObjectMeta, nameRule: NameRule): StatusCause[] {
  const causes: StatusCause[] = [];
  if (meta.generateName) causes.push(...invalidEach('metadata.generateName', meta.generateName, asPrefix(nameRule)(meta.generateName)));
  if (!meta.name) causes.push(required('metadata.name', 'name or generateName is required'));
  else causes.push(...invalidEach('metadata.name', meta.name, nameRule(meta.name)));
  if (info.namespaced) {
    if (!meta.namespace) causes.push(required('metadata.namespace'));
    else causes.push(...invalidEach('metadata.namespace', meta.namespace, isDNS1123Label(meta.namespace)));
  } else if (meta.namespace) {
    causes.push(forbidden('metadata.namespace', 'not allowed on this type'));
  }
  if (typeof meta.generation === 'number' && meta.generation < 0) causes.push(invalid('metadata.generation', meta.generation, 'must be greater than or equal to 0'));
  causes.push(...validLabels(meta.labels, 'metadata.labels'));

  const annotations = Object.entries(meta.annotations ?? {});
  for (const [key] of annotations) causes.push(...invalidEach('metadata.annotations', key, isQualifiedName(key.toLowerCase())));
  const annotationBytes = annotations.reduce((sum, [key, value]) => sum + byteLength(key) + byteLength(String(value)), 0);
  if (annotationBytes > 256 * 1024) causes.push(tooLong('metadata.annotations', 256 * 1024));

  let controller: string | undefined;
  for (const ref of meta.ownerReferences ?? []) {
    const slashes = (ref.apiVersion ?? '').split('/');
    const version = slashes.length <= 2 ? (slashes[slashes.length - 1] ?? '') : '';
    if (!version) causes.push(invalid('metadata.ownerReferences.apiVersion', ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) causes.push(invalid('metadata.ownerReferences.kind', ref.kind ?? '', 'must not be empty'));
    if (!ref.name) causes.push(invalid('metadata.ownerReferences.name', ref.name ?? '', 'must not be empty'));
    if (!ref.uid) causes.push(invalid('metadata.ownerReferences.uid', ref.uid ?? '', 'must not be empty'));
    if (ref.controller === true) {
      const current = `${ref.kind}/${ref.name}`;
      if (controller === undefined) controller = current;
      else {
        causes.push(
          invalid('metadata.ownerReferences', meta.ownerReferences, `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${current}`),
        );
      }
    }
  }

  const finalizers = meta.finalizers ?? [];
  finalizers.forEach((finalizer, i) => causes.push(...validateFinalizer(`metadata.finalizers[${i}]`, finalizer)));
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    causes.push(invalid('metadata.finalizers', finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return causes;
}

function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta): StatusCause[] {
  const causes: StatusCause[] = [];
  if (meta.name !== old.name) causes.push(invalid('metadata.name', meta.name ?? '', 'field is immutable'));
  if (meta.namespace !== old.namespace) causes.push(invalid('metadata.namespace', meta.namespace ?? '', 'field is immutable'));
  return causes;
}

// ---- Services ----

const protocols = ['SCTP', 'TCP', 'UDP'];
const serviceTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const sessionAffinities = ['ClientIP', 'None'];
const trafficPolicies = ['Cluster', 'Local'];
const ipFamilies = ['IPv4', 'IPv6'];
const ipFamilyPolicies = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const maxAffinitySeconds = 86400;

function validateServicePort(port: ServicePort, path: string, requireName: boolean, names: Set<string>): StatusCause[] {
  const causes: StatusCause[] = [];
  if (requireName && !port.name) causes.push(required(`${path}.name`));
  else if (port.name) {
    causes.push(...invalidEach(`${path}.name`, port.name, isDNS1123Label(port.name)));
    if (names.has(port.name)) causes.push(duplicate(`${path}.name`, port.name));
    else names.add(port.name);
  }
  causes.push(...invalidEach(`${path}.port`, port.port ?? 0, isValidPortNum(port.port)));
  if (!port.protocol) causes.push(required(`${path}.protocol`));
  else if (!protocols.includes(port.protocol)) causes.push(notSupported(`${path}.protocol`, port.protocol, protocols));
  const target = port.targetPort ?? 0;
  if (typeof target === 'string') causes.push(...invalidEach(`${path}.targetPort`, target, isValidPortName(target)));
  else causes.push(...invalidEach(`${path}.targetPort`, target, isValidPortNum(target)));
  if (port.appProtocol !== undefined) causes.push(...invalidEach(`${path}.appProtocol`, port.appProtocol, isQualifiedName(port.appProtocol)));
  return causes;
}

function validateClusterIPFields(service: Service): StatusCause[] {
  const spec = service.spec;
  if (serviceType(service) === 'ExternalName') return [];
  const causes: StatusCause[] = [];
  const clusterIPs = spec.clusterIPs ?? [];
  if (spec.clusterIP) {
    if (clusterIPs.length === 0) causes.push(required('spec.clusterIPs'));
    else if (clusterIPs[0] !== spec.clusterIP) causes.push(invalid('spec.clusterIPs', clusterIPs, 'first value must match `clusterIP`'));
  } else if (clusterIPs.length > 0) {
    causes.push(invalid('spec.clusterIPs', clusterIPs, 'must be empty when `clusterIP` is not specified'));
  }

  const seen = new Set<string>();
  (spec.ipFamilies ?? []).forEach((family, i) => {
    if (!ipFamilies.includes(family)) causes.push(notSupported(`spec.ipFamilies[${i}]`, family, ipFamilies));
    if (seen.has(family)) causes.push(duplicate(`spec.ipFamilies[${i}]`, family));
    seen.add(family);
  });
  if (spec.ipFamilyPolicy !== undefined && !ipFamilyPolicies.includes(spec.ipFamilyPolicy)) {
    causes.push(notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, ipFamilyPolicies));
  }

  let badIPs = false;
  clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (clusterIPs.length > 1) {
        badIPs = true;
        causes.push(invalid('spec.clusterIPs', clusterIPs, "'None' must be the first and only value"));
      }
      return;
    }
    const errors = validIP(`spec.clusterIPs[${i}]`, ip);
    if (errors.length > 0) badIPs = true;
    causes.push(...errors);
  });
  if (clusterIPs.length > 2) causes.push(invalid('spec.clusterIPs', clusterIPs, 'may only hold up to 2 values'));
  // Family checks on IPs that do not parse would only repeat the same problem.
  if (badIPs) return causes;

  const families = clusterIPs.map((ip) => parseIp(ip)?.family);
  if (clusterIPs.length > 1 && families[0] === families[1]) {
    causes.push(invalid('spec.clusterIPs', clusterIPs, 'may specify no more than one IP for each IP family'));
  }
  if (!isHeadless(service)) {
    clusterIPs.forEach((ip, i) => {
      const declared = spec.ipFamilies?.[i];
      if (declared !== undefined && (declared === 'IPv4' || declared === 'IPv6') && declared !== families[i]) {
        causes.push(invalid(`spec.clusterIPs[${i}]`, ip, `expected an ${declared} value as indicated by \`ipFamilies[${i}]\``));
      }
    });
  }
  return causes;
}

function validateServiceSpec(service: Service): StatusCause[] {
  const spec = service.spec;
  const type = spec.type;
  const causes: StatusCause[] = [];
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  const headless = isHeadless(service);

  if (ports.length === 0 && !headless && type !== 'ExternalName') causes.push(required('spec.ports'));
  if ((type === 'LoadBalancer' || type === 'NodePort') && headless) {
    causes.push(invalid('spec.clusterIPs[0]', 'None', `may not be set to 'None' for ${type} services`));
  }
  if (type === 'ExternalName') {
    if ((spec.clusterIPs?.length ?? 0) > 0) causes.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if ((spec.ipFamilies?.length ?? 0) > 0) causes.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (spec.ipFamilyPolicy !== undefined) causes.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    // The name (a CNAME target) may end in a dot to mark it fully qualified.
    const cname = (spec.externalName ?? '').replace(/\.$/, '');
    if (cname) causes.push(...invalidEach('spec.externalName', cname, isDNS1123Subdomain(cname)));
    else causes.push(required('spec.externalName'));
  }

  const names = new Set<string>();
  ports.forEach((port, i) => causes.push(...validateServicePort(port, `spec.ports[${i}]`, ports.length > 1, names)));
  if (spec.selector !== undefined) causes.push(...validLabels(spec.selector, 'spec.selector'));

  if (!spec.sessionAffinity) causes.push(required('spec.sessionAffinity'));
  else if (!sessionAffinities.includes(spec.sessionAffinity)) causes.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, sessionAffinities));
  if (spec.sessionAffinity === 'ClientIP') {
    const when = 'when session affinity type is ClientIP';
    const config = spec.sessionAffinityConfig;
    const timeout = config?.clientIP?.timeoutSeconds;
    if (!config) causes.push(required('spec.sessionAffinityConfig', when));
    else if (!config.clientIP) causes.push(required('spec.sessionAffinityConfig.clientIP', when));
    else if (timeout === undefined) causes.push(required('spec.sessionAffinityConfig.clientIP.timeoutSeconds', when));
    else if (!(timeout > 0 && timeout <= maxAffinitySeconds)) {
      causes.push(invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, `must be greater than 0 and less than ${maxAffinitySeconds}`));
    }
  } else if (spec.sessionAffinity === 'None' && spec.sessionAffinityConfig) {
    causes.push(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }

  causes.push(...validateClusterIPFields(service));
  (spec.externalIPs ?? []).forEach((ip, i) => {
    const errors = validIP(`spec.externalIPs[${i}]`, ip);
    causes.push(...(errors.length > 0 ? errors : nonSpecialIP(`spec.externalIPs[${i}]`, ip)));
  });

  if (!type) causes.push(required('spec.type'));
  else if (!serviceTypes.includes(type)) causes.push(notSupported('spec.type', type, serviceTypes));
  if (type === 'ClusterIP') {
    ports.forEach((port, i) => {
      if (port.nodePort) causes.push(forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }

  const nodePorts = new Set<string>();
  ports.forEach((port, i) => {
    if (!port.nodePort) return;
    const key = `${port.protocol ?? ''}/${port.nodePort}`;
    if (nodePorts.has(key)) causes.push(duplicate(`spec.ports[${i}].nodePort`, port.nodePort));
    nodePorts.add(key);
  });
  const servicePorts = new Set<string>();
  ports.forEach((port, i) => {
    const key = `${port.protocol ?? ''}/${port.port}`;
    if (servicePorts.has(key)) {
      // kube-apiserver prints the internal ServicePort it used as the key.
      causes.push(duplicate(`spec.ports[${i}]`, { Name: '', Protocol: port.protocol ?? '', AppProtocol: null, Port: port.port, TargetPort: 0, NodePort: 0 }));
    }
    servicePorts.add(key);
  });

  const sourceRanges = spec.loadBalancerSourceRanges ?? [];
  if (sourceRanges.length > 0) {
    // The field path's capital L is kube-apiserver's own.
    if (type !== 'LoadBalancer') causes.push(forbidden('spec.LoadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'"));
    sourceRanges.forEach((range, i) => causes.push(...validCIDR(`spec.LoadBalancerSourceRanges[${i}]`, String(range).trim())));
  }
  if (spec.allocateLoadBalancerNodePorts !== undefined && type !== 'LoadBalancer') {
    causes.push(forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) causes.push(required('spec.allocateLoadBalancerNodePorts'));
  if (spec.loadBalancerClass !== undefined) {
    if (type === 'LoadBalancer') causes.push(...invalidEach('spec.loadBalancerClass', spec.loadBalancerClass, isQualifiedName(spec.loadBalancerClass)));
    else causes.push(forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"));
  }

  if (!isExternallyAccessible(service)) {
    if (spec.externalTrafficPolicy) causes.push(invalid('spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set for externally-accessible services'));
  } else if (!spec.externalTrafficPolicy) {
    causes.push(required('spec.externalTrafficPolicy'));
  } else if (!trafficPolicies.includes(spec.externalTrafficPolicy)) {
    causes.push(notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, trafficPolicies));
  }
  const healthCheck = spec.healthCheckNodePort;
  if (!needsHealthCheckNodePort(service)) {
    if (healthCheck) causes.push(invalid('spec.healthCheckNodePort', healthCheck, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  } else if (healthCheck) {
    causes.push(...invalidEach('spec.healthCheckNodePort', healthCheck, isValidPortNum(healthCheck)));
  }

  if (spec.internalTrafficPolicy === undefined) {
    if (type === 'ClusterIP' || type === 'NodePort' || type === 'LoadBalancer') causes.push(required('spec.internalTrafficPolicy'));
  } else if (!trafficPolicies.includes(spec.internalTrafficPolicy)) {
    causes.push(notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, trafficPolicies));
  }

  for (const [i, ingress] of (service.status?.loadBalancer?.ingress ?? []).entries()) {
    const path = `status.loadBalancer.ingress[${i}]`;
    if (ingress.ip) causes.push(...validIP(`${path}.ip`, ingress.ip));
    if (ingress.hostname) {
      causes.push(...invalidEach(`${path}.hostname`, ingress.hostname, isDNS1123Subdomain(ingress.hostname)));
      if (parseIp(ingress.hostname)) causes.push(invalid(`${path}.hostname`, ingress.hostname, 'must be a DNS name, not an IP address'));
    }
  }
  return causes;
}

/** Cluster IPs may not change, except when the type changes to or from ExternalName (validateUpgradeDowngradeClusterIPs). */
function validateClusterIPsUpdate(service: Service, old: Service): StatusCause[] {
  if (serviceType(service) === 'ExternalName' || serviceType(old) === 'ExternalName') return [];
  if (isHeadless(service) && isHeadless(old)) return [];
  const now = service.spec.clusterIPs ?? [];
  const before = old.spec.clusterIPs ?? [];
  const causes: StatusCause[] = [];
  if (now.length === before.length) {
    before.forEach((ip, i) => {
      if (ip !== now[i]) causes.push(invalid(`spec.clusterIPs[${i}]`, now, 'may not change once set'));
    });
  } else if (now.length < before.length) {
    if (now.length === 0) causes.push(invalid('spec.clusterIPs[0]', now, 'primary clusterIP can not be unset'));
    else if (now[0] !== before[0]) causes.push(invalid('spec.clusterIPs[0]', now, 'may not change once set'));
    if (now.length === 1 && service.spec.ipFamilyPolicy !== 'SingleStack') {
      causes.push(invalid('spec.ipFamilyPolicy', service.spec.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
    }
  } else if (before.length > 0 && now[0] !== before[0]) {
    causes.push(invalid('spec.clusterIPs[0]', now, 'may not change once set'));
  }
  return causes;
}

/** The primary IP family is fixed once set, except on headless Services and ExternalName changes. */
function validateIPFamiliesUpdate(service: Service, old: Service): StatusCause[] {
  if (serviceType(service) === 'ExternalName' || serviceType(old) === 'ExternalName') return [];
  if (isHeadless(service) || isHeadless(old)) return [];
  const now = service.spec.ipFamilies ?? [];
  const before = old.spec.ipFamilies ?? [];
  const causes: StatusCause[] = [];
  if (now.length === before.length) {
    before.forEach((family, i) => {
      if (family !== now[i]) causes.push(invalid('spec.ipFamilies[0]', now, 'may not change once set'));
    });
  } else if (now.length > 0 && now[0] !== before[0]) {
    causes.push(invalid('spec.ipFamilies[0]', service.spec.clusterIPs ?? [], 'may not change once set'));
  } else if (now.length === 1 && before.length === 2 && service.spec.ipFamilyPolicy !== 'SingleStack') {
    causes.push(invalid('spec.ipFamilyPolicy', service.spec.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
  }
  return causes;
}

function validateService(info: ResourceInfo, object: Service, old: Service | undefined): StatusCause[] {
  const service = structuredClone(object);
  service.spec = service.spec ?? {};
  const causes: StatusCause[] = [];
  if (old) {
    prepareServiceUpdate(service, old);
    causes.push(...validateObjectMetaUpdate(service.metadata, old.metadata));
    causes.push(...validateClusterIPsUpdate(service, old));
    causes.push(...validateIPFamiliesUpdate(service, old));
    if (serviceType(service) === 'LoadBalancer' && serviceType(old) === 'LoadBalancer' && service.spec.loadBalancerClass !== old.spec.loadBalancerClass) {
      causes.push(invalid('spec.loadBalancerClass', service.spec.loadBalancerClass ?? null, 'may not change once set'));
    }
    if (needsHealthCheckNodePort(old) && needsHealthCheckNodePort(service) && service.spec.healthCheckNodePort !== old.spec.healthCheckNodePort) {
      causes.push(forbidden('spec.healthCheckNodePort', 'field is immutable'));
    }
  }
  causes.push(...validateObjectMeta(info, service.metadata, isDNS1035Label));
  causes.push(...validateServiceSpec(service));
  return causes;
}

// ---- Pods ----

function validatePod(info: ResourceInfo, pod: Pod, old: Pod | undefined): StatusCause[] {
  const causes = old ? validateObjectMetaUpdate(pod.metadata, old.metadata) : [];
  causes.push(...validateObjectMeta(info, pod.metadata, isDNS1123Subdomain));
  const spec = pod.spec ?? { containers: [] };
  const containers: Container[] = Array.isArray(spec.containers) ? spec.containers : [];
  if (containers.length === 0) causes.push(required('spec.containers'));
  const names = new Set<string>();
  containers.forEach((container, i) => {
    const path = `spec.containers[${i}]`;
    if (!container.name) causes.push(required(`${path}.name`));
    else {
      causes.push(...invalidEach(`${path}.name`, container.name, isDNS1123Label(container.name)));
      if (names.has(container.name)) causes.push(duplicate(`${path}.name`, container.name));
      names.add(container.name);
    }
    if (!container.image) causes.push(required(`${path}.image`));
    const portNames = new Set<string>();
    (container.ports ?? []).forEach((port, j) => {
      const portPath = `${path}.ports[${j}]`;
      if (port.name) {
        const errors = isValidPortName(port.name);
        if (errors.length > 0) causes.push(...invalidEach(`${portPath}.name`, port.name, errors));
        else if (portNames.has(port.name)) causes.push(duplicate(`${portPath}.name`, port.name));
        else portNames.add(port.name);
      }
      if (!port.containerPort) causes.push(required(`${portPath}.containerPort`));
      else causes.push(...invalidEach(`${portPath}.containerPort`, port.containerPort, isValidPortNum(port.containerPort)));
      if (!port.protocol) causes.push(required(`${portPath}.protocol`));
      else if (!protocols.includes(port.protocol)) causes.push(notSupported(`${portPath}.protocol`, port.protocol, protocols));
    });
  });
  if (spec.hostname) causes.push(...invalidEach('spec.hostname', spec.hostname, isDNS1123Label(spec.hostname)));
  if (spec.subdomain) causes.push(...invalidEach('spec.subdomain', spec.subdomain, isDNS1123Label(spec.subdomain)));
  (pod.status?.podIPs ?? []).forEach((entry, i) => causes.push(...validIP(`status.podIPs[${i}]`, entry.ip)));
  return causes;
}

// ---- Secrets and ConfigMaps ----

const maxDataBytes = 1024 * 1024;

function decodedLength(base64: string): number {
  return Buffer.from(base64, 'base64').length;
}

function validateSecret(info: ResourceInfo, secret: Secret, old: Secret | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  if (old) {
    causes.push(...validateObjectMetaUpdate(secret.metadata, old.metadata));
    if ((secret.type ?? '') !== (old.type ?? '')) causes.push(invalid('type', secret.type ?? '', 'field is immutable'));
    causes.push(...validateImmutableData(secret.immutable, old.immutable, [['data', secret.data, old.data]]));
  }
  causes.push(...validateObjectMeta(info, secret.metadata, isDNS1123Subdomain));
  const data = secret.data ?? {};
  let size = 0;
  for (const [key, value] of Object.entries(data)) {
    causes.push(...invalidEach(`data[${key}]`, key, isConfigMapKey(key)));
    size += decodedLength(String(value));
  }
  if (size > maxDataBytes) causes.push(tooLong('data', maxDataBytes));
  const has = (key: string) => Object.hasOwn(data, key);
  switch (secret.type) {
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) causes.push(required('data[tls.crt]'));
      if (!has('tls.key')) causes.push(required('data[tls.key]'));
      break;
    case 'kubernetes.io/dockerconfigjson':
      if (!has('.dockerconfigjson')) causes.push(required('data[.dockerconfigjson]'));
      break;
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) causes.push(required('data[username]'), required('data[password]'));
      break;
    case 'kubernetes.io/ssh-auth':
      if (!has('ssh-privatekey')) causes.push(required('data[ssh-privatekey]'));
      break;
  }
  return causes;
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const left = Object.entries(a ?? {});
  return left.length === Object.keys(b ?? {}).length && left.every(([key, value]) => (b ?? {})[key] === value);
}

/** Once `immutable: true` is stored, neither the flag nor the data may change. */
function validateImmutableData(now: boolean | undefined, before: boolean | undefined, fields: [string, Record<string, string> | undefined, Record<string, string> | undefined][]): StatusCause[] {
  if (before !== true) return [];
  const causes: StatusCause[] = [];
  const detail = 'field is immutable when `immutable` is set';
  if (now !== true) causes.push(forbidden('immutable', detail));
  for (const [field, current, previous] of fields) if (!sameRecord(current, previous)) causes.push(forbidden(field, detail));
  return causes;
}

function validateConfigMap(info: ResourceInfo, configMap: ConfigMap, old: ConfigMap | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  if (old) {
    causes.push(...validateObjectMetaUpdate(configMap.metadata, old.metadata));
    causes.push(
      ...validateImmutableData(configMap.immutable, old.immutable, [
        ['data', configMap.data, old.data],
        ['binaryData', configMap.binaryData, old.binaryData],
      ]),
    );
  }
  causes.push(...validateObjectMeta(info, configMap.metadata, isDNS1123Subdomain));
  const binary = configMap.binaryData ?? {};
  let size = 0;
  for (const [key, value] of Object.entries(configMap.data ?? {})) {
    causes.push(...invalidEach(`data[${key}]`, key, isConfigMapKey(key)));
    if (Object.hasOwn(binary, key)) causes.push(invalid(`data[${key}]`, key, 'duplicate of key present in binaryData'));
    size += byteLength(String(value));
  }
  for (const [key, value] of Object.entries(binary)) {
    causes.push(...invalidEach(`binaryData[${key}]`, key, isConfigMapKey(key)));
    size += decodedLength(String(value));
  }
  if (size > maxDataBytes) causes.push(tooLong('', maxDataBytes));
  return causes;
}

// ---- Ingress and IngressClass ----

const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'];
const invalidPathSequences = ['//', '/./', '/../', '%2f', '%2F'];
const invalidPathSuffixes = ['/..', '/.'];

function validateIngressBackend(backend: IngressBackend, path: string): StatusCause[] {
  const { service, resource } = backend;
  if (service && resource) return [invalid(path, '', 'cannot set both resource and service backends')];
  if (resource) {
    const causes: StatusCause[] = [];
    if (resource.apiGroup !== undefined) causes.push(...invalidEach(`${path}.resource.apiGroup`, resource.apiGroup, isDNS1123Subdomain(resource.apiGroup)));
    if (!resource.kind) causes.push(required(`${path}.resource.kind`));
    else causes.push(...invalidEach(`${path}.resource.kind`, resource.kind, isPathSegmentName(resource.kind)));
    if (!resource.name) causes.push(required(`${path}.resource.name`));
    else causes.push(...invalidEach(`${path}.resource.name`, resource.name, isPathSegmentName(resource.name)));
    return causes;
  }
  if (!service) return [invalid(path, '', 'resource or service backend is required')];
  const causes: StatusCause[] = [];
  if (!service.name) causes.push(required(`${path}.service.name`));
  else causes.push(...invalidEach(`${path}.service.name`, service.name, isDNS1035Label(service.name)));
  const { name, number } = service.port ?? {};
  if (name && number) causes.push(invalid(path, '', 'cannot set both port name & port number'));
  else if (name) causes.push(...invalidEach(`${path}.service.port.name`, name, isValidPortName(name)));
  else if (number) causes.push(...invalidEach(`${path}.service.port.number`, number, isValidPortNum(number)));
  else causes.push(required(path, 'port name or number is required'));
  return causes;
}

function validateIngress(info: ResourceInfo, ingress: Ingress, old: Ingress | undefined): StatusCause[] {
  const causes = old ? validateObjectMetaUpdate(ingress.metadata, old.metadata) : [];
  causes.push(...validateObjectMeta(info, ingress.metadata, isDNS1123Subdomain));
  const spec = ingress.spec ?? {};
  const rules = Array.isArray(spec.rules) ? spec.rules : [];
  if (rules.length === 0 && !spec.defaultBackend) causes.push(invalid('spec', spec.rules ?? null, 'either `defaultBackend` or `rules` must be specified'));
  if (spec.defaultBackend) causes.push(...validateIngressBackend(spec.defaultBackend, 'spec.defaultBackend'));
  rules.forEach((rule, i) => {
    const path = `spec.rules[${i}]`;
    if (rule.host) {
      if (parseIp(rule.host)) causes.push(invalid(`${path}.host`, rule.host, 'must be a DNS name, not an IP address'));
      const errors = rule.host.includes('*') ? isWildcardDNS1123Subdomain(rule.host) : isDNS1123Subdomain(rule.host);
      causes.push(...invalidEach(`${path}.host`, rule.host, errors));
    }
    if (!rule.http) return;
    const paths = Array.isArray(rule.http.paths) ? rule.http.paths : [];
    if (paths.length === 0) causes.push(required(`${path}.http.paths`));
    paths.forEach((entry, j) => {
      const entryPath = `${path}.http.paths[${j}]`;
      const value = entry.path ?? '';
      if (!entry.pathType) {
        causes.push(required(`${entryPath}.pathType`, 'pathType must be specified'));
        return;
      }
      if (entry.pathType === 'Exact' || entry.pathType === 'Prefix') {
        if (!value.startsWith('/')) causes.push(invalid(`${entryPath}.path`, value, 'must be an absolute path'));
        for (const sequence of invalidPathSequences) if (value.includes(sequence)) causes.push(invalid(`${entryPath}.path`, value, `must not contain '${sequence}'`));
        for (const suffix of invalidPathSuffixes) if (value.endsWith(suffix)) causes.push(invalid(`${entryPath}.path`, value, `cannot end with '${suffix}'`));
      } else if (entry.pathType === 'ImplementationSpecific') {
        if (value && !value.startsWith('/')) causes.push(invalid(`${entryPath}.path`, value, 'must be an absolute path'));
      } else {
        causes.push(notSupported(`${entryPath}.pathType`, entry.pathType, pathTypes));
      }
      causes.push(...validateIngressBackend(entry.backend ?? {}, `${entryPath}.backend`));
    });
  });
  (spec.tls ?? []).forEach((tls, i) => {
    (tls.hosts ?? []).forEach((host, j) => {
      const errors = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
      causes.push(...invalidEach(`spec.tls[${i}].hosts[${j}]`, host, errors));
    });
    if (tls.secretName) causes.push(...invalidEach(`spec.tls[${i}].secretName`, tls.secretName, isDNS1123Subdomain(tls.secretName)));
  });
  if (spec.ingressClassName !== undefined) causes.push(...invalidEach('spec.ingressClassName', spec.ingressClassName, isDNS1123Subdomain(spec.ingressClassName)));
  return causes;
}

interface IngressClassParameters {
  apiGroup?: string;
  kind?: string;
  name?: string;
  scope?: string;
  namespace?: string;
}

function validateIngressClass(info: ResourceInfo, ingressClass: IngressClass, old: IngressClass | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const controller = ingressClass.spec?.controller;
  if (old) {
    causes.push(...validateObjectMetaUpdate(ingressClass.metadata, old.metadata));
    if (controller !== old.spec?.controller) causes.push(invalid('spec.controller', controller ?? '', 'field is immutable'));
  }
  causes.push(...validateObjectMeta(info, ingressClass.metadata, isDNS1123Subdomain));
  if (!controller) causes.push(required('spec.controller'));
  else {
    if (byteLength(controller) > 250) causes.push(tooLong('spec.controller', 250));
    const [host, path] = [controller.slice(0, controller.indexOf('/')), controller.slice(controller.indexOf('/') + 1)];
    if (!controller.includes('/') || !host || !path) {
      causes.push(invalid('spec.controller', controller, 'must be a domain-prefixed path (such as "acme.io/foo")'));
    } else {
      causes.push(...invalidEach('spec.controller', host, isDNS1123Subdomain(host)));
      if (!httpPathRe.test(path)) causes.push(invalid('spec.controller', path, regexError('Invalid path', httpPathFmt)));
    }
  }
  const parameters = ingressClass.spec?.parameters as IngressClassParameters | undefined;
  if (parameters) {
    const path = 'spec.parameters';
    if (parameters.apiGroup !== undefined) causes.push(...invalidEach(`${path}.apiGroup`, parameters.apiGroup, isDNS1123Subdomain(parameters.apiGroup)));
    if (!parameters.kind) causes.push(required(`${path}.kind`));
    else causes.push(...invalidEach(`${path}.kind`, parameters.kind, isPathSegmentName(parameters.kind)));
    if (!parameters.name) causes.push(required(`${path}.name`));
    else causes.push(...invalidEach(`${path}.name`, parameters.name, isPathSegmentName(parameters.name)));
    if (parameters.scope === undefined) causes.push(required(`${path}.scope`));
    else if (parameters.scope !== 'Cluster' && parameters.scope !== 'Namespace') causes.push(notSupported(`${path}.scope`, parameters.scope, ['Cluster', 'Namespace']));
    else if (parameters.scope === 'Namespace') {
      if (parameters.namespace === undefined) causes.push(required(`${path}.namespace`, "`parameters.scope` is set to 'Namespace'"));
      else causes.push(...invalidEach(`${path}.namespace`, parameters.namespace, isDNS1123Label(parameters.namespace)));
    } else if (parameters.namespace !== undefined) {
      causes.push(forbidden(`${path}.namespace`, "`parameters.scope` is set to 'Cluster'"));
    }
  }
  return causes;
}

// ---- EndpointSlices and Endpoints ----

const addressTypes = ['FQDN', 'IPv4', 'IPv6'];
const maxEndpoints = 1000;
const maxAddresses = 100;
const maxSlicePorts = 20000;

function isFullyQualifiedDomainName(field: string, name: string): StatusCause[] {
  if (!name) return [required(field)];
  const trimmed = name.replace(/\.$/, '');
  const errors = isDNS1123Subdomain(trimmed);
  if (errors.length > 0) return [invalid(field, trimmed, errors.join(','))];
  const labels = trimmed.split('.');
  if (labels.length < 2) return [invalid(field, trimmed, 'should be a domain with at least two segments separated by dots')];
  for (const label of labels) {
    const labelErrors = isDNS1123Label(label);
    if (labelErrors.length > 0) return [invalid(field, label, labelErrors.join(','))];
  }
  return [];
}

function validateSliceAddress(field: string, address: string, addressType: string): StatusCause[] {
  if (addressType === 'FQDN') return isFullyQualifiedDomainName(field, address);
  if (addressType !== 'IPv4' && addressType !== 'IPv6') return [];
  if (parseIp(address)?.family !== addressType) return [invalid(field, address, `must be a valid ${addressType} address`)];
  return nonSpecialIP(field, address);
}

function validateEndpointSlice(info: ResourceInfo, slice: EndpointSlice, old: EndpointSlice | undefined): StatusCause[] {
  const causes = validateObjectMeta(info, slice.metadata, isDNS1123Subdomain);
  const addressType = slice.addressType;
  if (!addressType) causes.push(required('addressType'));
  else if (!addressTypes.includes(addressType)) causes.push(notSupported('addressType', addressType, addressTypes));

  const endpoints = Array.isArray(slice.endpoints) ? slice.endpoints : [];
  if (endpoints.length > maxEndpoints) causes.push(tooMany('endpoints', endpoints.length, maxEndpoints));
  else {
    endpoints.forEach((endpoint, i) => {
      const path = `endpoints[${i}]`;
      const addresses = Array.isArray(endpoint.addresses) ? endpoint.addresses : [];
      if (addresses.length === 0) causes.push(required(`${path}.addresses`, 'must contain at least 1 address'));
      else if (addresses.length > maxAddresses) causes.push(tooMany(`${path}.addresses`, addresses.length, maxAddresses));
      addresses.forEach((address, j) => causes.push(...validateSliceAddress(`${path}.addresses[${j}]`, String(address), addressType)));
      if (endpoint.nodeName !== undefined) causes.push(...invalidEach(`${path}.nodeName`, endpoint.nodeName, isDNS1123Subdomain(endpoint.nodeName)));
      if (endpoint.hostname !== undefined) causes.push(...invalidEach(`${path}.hostname`, endpoint.hostname, isDNS1123Label(endpoint.hostname)));
    });
  }

  const ports = Array.isArray(slice.ports) ? slice.ports : [];
  if (ports.length > maxSlicePorts) causes.push(tooMany('ports', ports.length, maxSlicePorts));
  else {
    const names = new Set<string>();
    ports.forEach((port, i) => {
      const path = `ports[${i}]`;
      const name = port.name ?? '';
      if (name) causes.push(...invalidEach(`${path}.name`, name, isDNS1123Label(name)));
      if (names.has(name)) causes.push(duplicate(`${path}.name`, name));
      names.add(name);
      if (port.port !== undefined) causes.push(...invalidEach(`${path}.port`, port.port, isValidPortNum(port.port)));
      if (!port.protocol) causes.push(required(`${path}.protocol`));
      else if (!protocols.includes(port.protocol)) causes.push(notSupported(`${path}.protocol`, port.protocol, protocols));
      if (port.appProtocol !== undefined) causes.push(...invalidEach(`${path}.appProtocol`, port.appProtocol, isQualifiedName(port.appProtocol)));
    });
  }
  if (old) {
    causes.push(...validateObjectMetaUpdate(slice.metadata, old.metadata));
    if (addressType !== old.addressType) causes.push(invalid('addressType', addressType ?? '', 'field is immutable'));
  }
  return causes;
}

function validateEndpoints(info: ResourceInfo, endpoints: Endpoints, old: Endpoints | undefined): StatusCause[] {
  const causes = old ? validateObjectMetaUpdate(endpoints.metadata, old.metadata) : [];
  causes.push(...validateObjectMeta(info, endpoints.metadata, isDNS1123Subdomain));
  (endpoints.subsets ?? []).forEach((subset, i) => {
    const path = `subsets[${i}]`;
    const ready = subset.addresses ?? [];
    const notReady = subset.notReadyAddresses ?? [];
    if (ready.length === 0 && notReady.length === 0) causes.push(required(path, 'must specify `addresses` or `notReadyAddresses`'));
    const addresses = [...ready.map((a, j) => [a, `${path}.addresses[${j}]`] as const), ...notReady.map((a, j) => [a, `${path}.notReadyAddresses[${j}]`] as const)];
    for (const [address, addressPath] of addresses) {
      const errors = validIP(`${addressPath}.ip`, address.ip);
      causes.push(...(errors.length > 0 ? errors : nonSpecialIP(`${addressPath}.ip`, address.ip)));
      if (address.hostname) causes.push(...invalidEach(`${addressPath}.hostname`, address.hostname, isDNS1123Label(address.hostname)));
      if (address.nodeName !== undefined) causes.push(...invalidEach(`${addressPath}.nodeName`, address.nodeName, isDNS1123Subdomain(address.nodeName)));
    }
    const ports = subset.ports ?? [];
    ports.forEach((port, j) => {
      const portPath = `${path}.ports[${j}]`;
      if (ports.length > 1 && !port.name) causes.push(required(`${portPath}.name`));
      else if (port.name) causes.push(...invalidEach(`${portPath}.name`, port.name, isDNS1123Label(port.name)));
      causes.push(...invalidEach(`${portPath}.port`, port.port ?? 0, isValidPortNum(port.port)));
      if (!port.protocol) causes.push(required(`${portPath}.protocol`));
      else if (!protocols.includes(port.protocol)) causes.push(notSupported(`${portPath}.protocol`, port.protocol, protocols));
      if (port.appProtocol !== undefined) causes.push(...invalidEach(`${portPath}.appProtocol`, port.appProtocol, isQualifiedName(port.appProtocol)));
    });
  });
  return causes;
}

// ---- Namespaces, Nodes, Events ----

function validateNamespace(info: ResourceInfo, namespace: Namespace, old: Namespace | undefined): StatusCause[] {
  const causes = old ? validateObjectMetaUpdate(namespace.metadata, old.metadata) : [];
  causes.push(...validateObjectMeta(info, namespace.metadata, isDNS1123Label));
  (namespace.spec?.finalizers ?? []).forEach((finalizer, i) => causes.push(...validateFinalizer(`spec.finalizers[${i}]`, finalizer)));
  return causes;
}

const eventLimits = { reportingInstance: 128, action: 128, reason: 128, message: 1024 };

/** kube-apiserver's legacy Event rules, plus kplane's: an Event must say what it is about. */
function validateEvent(info: ResourceInfo, event: Event, old: Event | undefined): StatusCause[] {
  const causes = old ? validateObjectMetaUpdate(event.metadata, old.metadata) : [];
  causes.push(...validateObjectMeta(info, event.metadata, isDNS1123Subdomain));
  const involved = event.involvedObject;
  if (typeof involved !== 'object' || involved === null) {
    causes.push(required('involvedObject'));
    return causes;
  }
  const namespace = event.metadata.namespace ?? '';
  const involvedNamespace = involved.namespace ?? '';
  const mismatch = () => causes.push(invalid('involvedObject.namespace', involvedNamespace, 'does not match event.namespace'));
  if (!event.eventTime) {
    if (involvedNamespace ? involvedNamespace !== namespace : namespace !== '' && namespace !== 'default') mismatch();
    return causes;
  }
  // Events with eventTime are "new" events and must say who reported them.
  if (!involvedNamespace && namespace !== 'default' && namespace !== 'kube-system') mismatch();
  const extra = event as Event & { action?: string };
  if (!event.reportingComponent) causes.push(required('reportingComponent'));
  else causes.push(...invalidEach('reportingComponent', event.reportingComponent, isQualifiedName(event.reportingComponent)));
  const lengthChecks: [keyof typeof eventLimits, string | undefined, boolean][] = [
    ['reportingInstance', event.reportingInstance, true],
    ['action', extra.action, true],
    ['reason', event.reason, true],
    ['message', event.message, false],
  ];
  for (const [field, value, mandatory] of lengthChecks) {
    if (!value) {
      if (mandatory) causes.push(required(field));
    } else if (value.length > eventLimits[field]) {
      causes.push(invalid(field, '', `can have at most ${eventLimits[field]} characters`));
    }
  }
  return causes;
}

/**
 * Every problem with `object` as a `kind` of `info`, empty when it is valid.
 * `old` is the stored object on an update. Kinds without rules of their own
 * get the metadata checks (a DNS-1123 subdomain name).
 */
export function validateObject(info: ResourceInfo, object: KubeObject, old?: KubeObject): StatusCause[] {
  switch (info.kind) {
    case 'Service':
      return validateService(info, object as Service, old as Service | undefined);
    case 'Pod':
      return validatePod(info, object as Pod, old as Pod | undefined);
    case 'Secret':
      return validateSecret(info, object as Secret, old as Secret | undefined);
    case 'ConfigMap':
      return validateConfigMap(info, object as ConfigMap, old as ConfigMap | undefined);
    case 'Ingress':
      return validateIngress(info, object as Ingress, old as Ingress | undefined);
    case 'IngressClass':
      return validateIngressClass(info, object as IngressClass, old as IngressClass | undefined);
    case 'EndpointSlice':
      return validateEndpointSlice(info, object as EndpointSlice, old as EndpointSlice | undefined);
    case 'Endpoints':
      return validateEndpoints(info, object as Endpoints, old as Endpoints | undefined);
    case 'Namespace':
      return validateNamespace(info, object as Namespace, old as Namespace | undefined);
    case 'Event':
      return validateEvent(info, object as Event, old as Event | undefined);
    default: {
      const causes = old ? validateObjectMetaUpdate(object.metadata, old.metadata) : [];
      return [...causes, ...validateObjectMeta(info, object.metadata, isDNS1123Subdomain)];
    }
  }
}
