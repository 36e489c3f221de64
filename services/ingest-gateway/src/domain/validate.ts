import type { z } from 'zod';
import { ErrorCodes, ValidationError } from '@twillow/errors';

/**
 * Parses `input` with a contracts schema; a failure becomes a 400 naming the first offending field
 * (REQUEST.UNKNOWN_FIELD for an extra field, SMS.EMPTY_TEXT for an empty text,
 * REQUEST.VALIDATION_FAILED otherwise) with every issue listed in `details.issues`.
 * `where` names the input in messages: 'body', 'query' or 'path'.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' | 'path'): z.output<S> {
  if (where === 'body' && (input === null || typeof input !== 'object' || Array.isArray(input))) {
    throw new ValidationError(ErrorCodes.validation, 'The request body must be a JSON object.', 'body');
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
    const field = keys.length > 0 ? [...issue.path, keys[0]].join('.') : issue.path.join('.') || where;
    return { field, code: issue.code, message: issue.code === 'unrecognized_keys' ? `unknown field "${keys.join('", "')}"` : issue.message };
  });
  const first = result.error.issues[0];
  const detail = { issues };
  if (first.code === 'unrecognized_keys') {
    throw (new ValidationError(ErrorCodes.unknownField, `Unknown field ${issues[0].field} in the ${where}; allowed: ${allowed(schema)}.`, issues[0].field, detail));
  }
  if (issues[0].field === 'text' && first.code === 'too_small') {
    throw (new ValidationError(ErrorCodes.emptyText, issues[0].message, 'text', detail));
  }
  throw (new ValidationError(ErrorCodes.validation, issues[0].message, issues[0].field, detail));
}

function allowed(schema: z.ZodType): string {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape).join(', ') : '(see /openapi.json)';
}
