import { z } from 'zod';
import { envVars, type EnvVarName } from './env-vars';

/** Raised when the environment does not parse; its message names every bad variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG.INVALID';
  constructor(readonly problems: { variable: string; problem: string }[]) {
    super(
      `Invalid configuration: ${problems.map((p) => `${p.variable} ${p.problem}`).join('; ')}. ` +
        'Fix the variable in the environment or .env (see docs/configuration.md).',
    );
    this.name = 'ConfigError';
  }
}

type Picked<K extends EnvVarName> = z.ZodObject<{ [P in K]: (typeof envVars)[P] }>;

/** A zod object of the named registry variables; services build their schema with it. */
export function pickEnv<K extends EnvVarName>(...names: K[]): Picked<K> {
  const shape = Object.fromEntries(names.map((n) => [n, envVars[n]]));
  return z.object(shape) as unknown as Picked<K>;
}

/**
 * Parses `env` with `schema`. Empty strings count as unset, so `FOO=` in .env means the default.
 * The only place that reads the environment; services call it once at start.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.length > 0 ? String(issue.path[0]) : '(environment)';
    const given = cleaned[variable];
    const shown = given === undefined ? '' : ` (got "${given.length > 40 ? `${given.slice(0, 40)}...` : given}")`;
    return { variable, problem: `${issue.message}${shown}` };
  });
  throw new ConfigError(problems);
}
