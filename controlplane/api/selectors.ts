/**
 * Label and field selectors as kube-apiserver parses and matches them:
 * the grammar, the error texts and the matching rules follow
 * k8s.io/apimachinery pkg/labels/selector.go and pkg/fields/selector.go, and
 * the per-kind field values follow pkg/registry/core/<kind>/strategy.go.
 */
import { KplaneError } from '../../common/errors.ts';
import type { KubeObject } from './types.ts';

/** A selector (label or field) that cannot be parsed or names a field the kind does not support. */
export class SelectorError extends KplaneError {
  constructor(message: string) {
    super('KPLANE_SELECTOR', message);
  }
}

/** apimachinery's selection.Operator values; `!` is "does not exist", gt/lt compare integers. */
export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted and unique; empty for exists and `!`. */
  readonly values: readonly string[];
}

/** Requirements that must all hold; no requirements selects everything. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
}

export interface FieldRequirement {
  readonly field: string;
  /** `==` is parsed as `=`. */
  readonly operator: '=' | '!=';
  /** Already unescaped. */
  readonly value: string;
}

/** Requirements that must all hold; no requirements selects everything. */
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
}

// ---------------------------------------------------------------------------
// Label selectors

type TokenKind = 'end' | 'identifier' | 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
}

const specialSymbols = new Set(['=', '!', '(', ')', ',', '>', '<']);
const whitespace = new Set([' ', '\t', '\r', '\n']);
const endToken: Token = { kind: 'end', text: '' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && whitespace.has(text.charAt(i))) i++;
    if (i >= text.length) {
      tokens.push(endToken);
      return tokens;
    }
    const ch = text.charAt(i);
    if (specialSymbols.has(ch)) {
      const pair = text.slice(i, i + 2);
      const symbol = pair === '!=' || pair === '==' ? pair : ch;
      tokens.push({ kind: symbol as TokenKind, text: symbol });
      i += symbol.length;
      continue;
    }
    let end = i;
    while (end < text.length && !specialSymbols.has(text.charAt(end)) && !whitespace.has(text.charAt(end))) end++;
    const word = text.slice(i, end);
    tokens.push({ kind: word === 'in' || word === 'notin' ? word : 'identifier', text: word });
    i = end;
  }
}

type Context = 'operator' | 'value';

interface TokenStream {
  peek(context: Context): Token;
  next(context: Context): Token;
}

function streamOf(tokens: readonly Token[]): TokenStream {
  let position = 0;
  // Outside the operator slot `in` and `notin` are plain words, so `in in (in)` is valid.
  const classify = (token: Token, context: Context): Token =>
    context === 'value' && (token.kind === 'in' || token.kind === 'notin') ? { kind: 'identifier', text: token.text } : token;
  return {
    peek: (context) => classify(tokens[position] ?? endToken, context),
    next: (context) => classify(tokens[position++] ?? endToken, context),
  };
}

const binaryOperators: ReadonlyMap<TokenKind, LabelOperator> = new Map<TokenKind, LabelOperator>([
  ['in', 'in'],
  ['notin', 'notin'],
  ['=', '='],
  ['==', '=='],
  ['!=', '!='],
  ['>', 'gt'],
  ['<', 'lt'],
]);

/**
 * Parses the `labelSelector` query parameter. Whitespace separates tokens,
 * commas AND requirements, and the empty string selects everything.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const stream = streamOf(tokenize(text));
  const requirements: LabelRequirement[] = [];
  for (;;) {
    const head = stream.peek('value');
    if (head.kind === 'end') break;
    if (head.kind !== 'identifier' && head.kind !== '!') {
      throw new SelectorError(`found '${head.text}', expected: !, identifier, or 'end of string'`);
    }
    requirements.push(parseRequirement(stream));
    const after = stream.next('value');
    if (after.kind === 'end') break;
    if (after.kind !== ',') throw new SelectorError(`found '${after.text}', expected: ',' or 'end of string'`);
    const following = stream.peek('value');
    if (following.kind !== 'identifier' && following.kind !== '!') {
      throw new SelectorError(`found '${following.text}', expected: identifier after ','`);
    }
  }
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { requirements };
}

function parseRequirement(stream: TokenStream): LabelRequirement {
  try {
    return requirementFrom(stream);
  } catch (error) {
    if (error instanceof SelectorError) throw new SelectorError(`unable to parse requirement: ${error.message}`);
    throw error;
  }
}

function requirementFrom(stream: TokenStream): LabelRequirement {
  let token = stream.next('value');
  const absent = token.kind === '!';
  if (absent) token = stream.next('value');
  if (token.kind !== 'identifier') throw new SelectorError(`found '${token.text}', expected: identifier`);
  const key = token.text;
  const keyErrors = labelKeyErrors(key);
  if (keyErrors.length > 0) throw new SelectorError(invalidValue('key', key, keyErrors));
  if (absent) return { key, operator: '!', values: [] };
  const lookahead = stream.peek('value').kind;
  if (lookahead === 'end' || lookahead === ',') return { key, operator: 'exists', values: [] };

  const operatorToken = stream.next('operator');
  const operator = binaryOperators.get(operatorToken.kind);
  if (operator === undefined) {
    throw new SelectorError(`found '${operatorToken.text}', expected: ${[...binaryOperators.values()].join(', ')}`);
  }
  const values = operator === 'in' || operator === 'notin' ? parseValueSet(stream) : [parseExactValue(stream)];
  values.forEach((value, index) => {
    const errors = labelValueErrors(value);
    if (errors.length > 0) throw new SelectorError(invalidValue(`values[${index}]`, value, errors));
    if ((operator === 'gt' || operator === 'lt') && integerOf(value) === undefined) {
      throw new SelectorError(invalidValue(`values[${index}]`, value, [`for 'Gt', 'Lt' operators, the value must be an integer`]));
    }
  });
  return { key, operator, values: [...new Set(values)].sort() };
}

function parseValueSet(stream: TokenStream): string[] {
  const open = stream.next('value');
  if (open.kind !== '(') throw new SelectorError(`found '${open.text}' expected: '('`);
  const first = stream.peek('value');
  if (first.kind === ')') {
    stream.next('value');
    return [''];
  }
  if (first.kind !== 'identifier' && first.kind !== ',') {
    throw new SelectorError(`found '${first.text}', expected: ',', ')' or identifier`);
  }
  const values = parseValueList(stream);
  const close = stream.next('value');
  if (close.kind !== ')') throw new SelectorError(`found '${close.text}', expected: ')'`);
  return values;
}

/** A comma-separated list in which empty entries (`(a,,b)`, `(,a)`, `(a,)`) mean the empty value. */
function parseValueList(stream: TokenStream): string[] {
  const values: string[] = [];
  for (;;) {
    const token = stream.next('value');
    if (token.kind === 'identifier') {
      values.push(token.text);
      const after = stream.peek('value');
      if (after.kind === ')') return values;
      if (after.kind !== ',') throw new SelectorError(`found '${after.text}', expected: ',' or ')'`);
      continue;
    }
    if (token.kind !== ',') throw new SelectorError(`found '${token.text}', expected: ',', or identifier`);
    if (values.length === 0) values.push('');
    const after = stream.peek('value');
    if (after.kind === ')') {
      values.push('');
      return values;
    }
    if (after.kind === ',') values.push('');
  }
}

function parseExactValue(stream: TokenStream): string {
  const lookahead = stream.peek('value');
  if (lookahead.kind === 'end' || lookahead.kind === ',') return '';
  const token = stream.next('value');
  if (token.kind !== 'identifier') throw new SelectorError(`found '${token.text}', expected: identifier`);
  return token.text;
}

function invalidValue(field: string, value: string, details: readonly string[]): string {
  return `${field}: Invalid value: ${JSON.stringify(value)}: ${details.join('; ')}`;
}

const qualifiedNameFormat = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const qualifiedName = new RegExp(`^${qualifiedNameFormat}$`);
const qualifiedNameMessage = `must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (regex used for validation is '${qualifiedNameFormat}')`;
const dnsSubdomainFormat = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const dnsSubdomain = new RegExp(`^${dnsSubdomainFormat}$`);
const labelValueFormat = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';
const labelValue = new RegExp(`^${labelValueFormat}$`);

/** validation.IsQualifiedName: `[DNS-subdomain "/"] name`, name at most 63 characters. */
function labelKeyErrors(key: string): string[] {
  const parts = key.split('/');
  if (parts.length > 2) {
    return [`a qualified name ${qualifiedNameMessage} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  const errors: string[] = [];
  const name = parts.length === 2 ? (parts[1] ?? '') : key;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') errors.push('prefix part must be non-empty');
    else if (prefix.length > 253) errors.push('prefix part must be no more than 253 characters');
    else if (!dnsSubdomain.test(prefix)) {
      errors.push(`prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (regex used for validation is '${dnsSubdomainFormat}')`);
    }
  }
  if (name === '') errors.push('name part must be non-empty');
  else if (name.length > 63) errors.push('name part must be no more than 63 characters');
  if (!qualifiedName.test(name)) errors.push(`name part ${qualifiedNameMessage}`);
  return errors;
}

function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push('must be no more than 63 characters');
  if (!labelValue.test(value)) {
    errors.push(`a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (regex used for validation is '${labelValueFormat}')`);
  }
  return errors;
}

/** strconv.ParseInt(s, 10, 64); BigInt keeps all of int64 exact. */
function integerOf(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value >= -(2n ** 63n) && value < 2n ** 63n ? value : undefined;
}

/**
 * Kubernetes semantics: `!=` and `notin` also match objects without the key;
 * `=`, `in`, gt and lt need it.
 */
export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  return selector.requirements.every((requirement) => requirementMatches(requirement, labels ?? {}));
}

function requirementMatches(requirement: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const value = Object.hasOwn(labels, requirement.key) ? labels[requirement.key] : undefined;
  switch (requirement.operator) {
    case '=':
    case '==':
    case 'in':
      return value !== undefined && requirement.values.includes(value);
    case '!=':
    case 'notin':
      return value === undefined || !requirement.values.includes(value);
    case 'exists':
      return value !== undefined;
    case '!':
      return value === undefined;
    case 'gt':
    case 'lt': {
      const actual = value === undefined ? undefined : integerOf(value);
      const bound = integerOf(requirement.values[0] ?? '');
      if (actual === undefined || bound === undefined) return false;
      return requirement.operator === 'gt' ? actual > bound : actual < bound;
    }
  }
}

/** An `=` requirement per entry (an empty map selects everything, as in apimachinery). */
export function selectorFromSet(set: Readonly<Record<string, string>>): LabelSelector {
  const requirements = Object.keys(set)
    .sort()
    .map((key): LabelRequirement => ({ key, operator: '=', values: [set[key] ?? ''] }));
  return { requirements };
}

/**
 * Service.spec.selector matching: all keys equal. Unlike an empty label
 * selector, an absent or empty map selects nothing: a Service without a
 * selector has its endpoints managed by someone else.
 */
export function matchesSelectorMap(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const entries = Object.entries(selector ?? {});
  if (entries.length === 0) return false;
  return entries.every(([key, value]) => labels !== undefined && Object.hasOwn(labels, key) && labels[key] === value);
}

// ---------------------------------------------------------------------------
// Field selectors

const alwaysSelectable: readonly string[] = ['metadata.name', 'metadata.namespace'];

/**
 * Parses the `fieldSelector` query parameter: `field=value`, `field==value`,
 * `field!=value`, comma-separated. Values may escape `\,`, `\=` and `\\`.
 * `metadata.name` and `metadata.namespace` are always allowed; any other
 * field must be in `allowedFields` (the kind's ResourceInfo.fieldLabels).
 */
export function parseFieldSelector(text: string, allowedFields: readonly string[]): FieldSelector {
  const requirements = splitTerms(text)
    .filter((term) => term !== '')
    .map((term): FieldRequirement => {
      const split = splitTerm(term);
      if (split === undefined) throw new SelectorError(`invalid selector: '${text}'; can't understand '${term}'`);
      const { field, operator, rawValue } = split;
      if (!alwaysSelectable.includes(field) && !allowedFields.includes(field)) {
        throw new SelectorError(`field label not supported: ${field}`);
      }
      return { field, operator: operator === '!=' ? '!=' : '=', value: unescapeFieldValue(rawValue) };
    });
  return { requirements };
}

/** Splits on commas not escaped by a backslash; escapes stay in the terms. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (escaped) escaped = false;
    else if (ch === '\\') escaped = true;
    else if (ch === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

// `==` is tried before `=` so that it does not leave a leading `=` in the value.
const termOperators = ['!=', '==', '='] as const;

/** The field name cannot be escaped, so the first operator in the term splits it. */
function splitTerm(term: string): { field: string; operator: (typeof termOperators)[number]; rawValue: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    const operator = termOperators.find((candidate) => term.startsWith(candidate, i));
    if (operator !== undefined) return { field: term.slice(0, i), operator, rawValue: term.slice(i + operator.length) };
  }
  return undefined;
}

function unescapeFieldValue(raw: string): string {
  let value = '';
  let escaped = false;
  for (const ch of raw) {
    if (escaped) {
      if (ch !== '\\' && ch !== ',' && ch !== '=') throw new SelectorError(`invalid field selector: invalid escape sequence: \\${ch}`);
      value += ch;
      escaped = false;
    } else if (ch === '\\') {
      escaped = true;
    } else if (ch === ',' || ch === '=') {
      throw new SelectorError(`invalid field selector: unescaped character in value: ${ch}`);
    } else {
      value += ch;
    }
  }
  if (escaped) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return value;
}

/** Field values kube-apiserver computes instead of reading one path (pkg/registry/core/<kind>/strategy.go). */
const derivedFields: ReadonlyMap<string, ReadonlyMap<string, (object: KubeObject) => string>> = new Map([
  ['Event', new Map([['source', (event: KubeObject) => textOf(readPath(event, 'source.component')) || textOf(readPath(event, 'reportingComponent'))]])],
  // The Go field is a plain bool printed with fmt.Sprint, so an unset field reads "false".
  ['Node', new Map([['spec.unschedulable', (node: KubeObject) => String(readPath(node, 'spec.unschedulable') === true)]])],
]);

/** A missing field compares as the empty string, as an unset Go string does. */
export function matchesFields(selector: FieldSelector, object: KubeObject): boolean {
  return selector.requirements.every((requirement) => (fieldValue(object, requirement.field) === requirement.value) === (requirement.operator === '='));
}

function fieldValue(object: KubeObject, field: string): string {
  const derive = derivedFields.get(object.kind)?.get(field);
  return derive === undefined ? textOf(readPath(object, field)) : derive(object);
}

function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const segment of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}
