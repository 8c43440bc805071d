import * as z from 'zod';

/**
 * What a state machine's `Apply defaults` merges under its input (JSONPath has no default): each
 * field's zod default, and `''` for an optional field without one, so later states can always
 * reference it. Fields in the schema's order.
 */
export function jsonPathDefaults(schema: z.ZodObject): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    if (field instanceof z.ZodDefault) defaults[key] = structuredClone(field.def.defaultValue);
    else if (field instanceof z.ZodOptional) defaults[key] = '';
  }
  return defaults;
}
