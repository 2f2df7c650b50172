/**
 * A list/watch request's label and field selectors, parsed once per request
 * and applied per object.
 */
import type { ResourceInfo } from '../api/resources.ts';
import type { KubeObject } from '../api/types.ts';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../api/selectors.ts';
import { errors } from '../api/status.ts';

export interface ObjectFilter {
  /** True when no selector was given: every object matches. */
  everything: boolean;
  matches(object: KubeObject): boolean;
}

export const everything: ObjectFilter = { everything: true, matches: () => true };

export function objectFilter(info: ResourceInfo, labelSelector: string | undefined, fieldSelector: string | undefined): ObjectFilter {
  const labelText = labelSelector?.trim() ?? '';
  const fieldText = fieldSelector?.trim() ?? '';
  if (labelText === '' && fieldText === '') return everything;
  try {
    const labels = labelText === '' ? undefined : parseLabelSelector(labelText);
    const fields = fieldText === '' ? undefined : parseFieldSelector(fieldText, info.fieldLabels);
    return {
      everything: false,
      matches: (object) => (!labels || matchesLabels(labels, object.metadata.labels)) && (!fields || matchesFields(fields, object)),
    };
  } catch (error) {
    if (error instanceof SelectorError) throw errors.badRequest(error.message);
    throw error;
  }
}
