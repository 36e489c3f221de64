/**
 * Renders `.env.example` from the registry in packages/config, so it lists every variable with its
 * meaning and default. Regenerate after adding a variable:
 *   node --conditions=development --require tsx/cjs infra/tools/env-example.ts > .env.example
 */
import fs from 'node:fs';
import path from 'node:path';
import { envVars, type EnvVarName } from '@twillow/config';

const registryFile = path.resolve(__dirname, '../../packages/config/src/env-vars.ts');

function defaultOf(name: EnvVarName): string {
  const parsed = envVars[name].safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return '';
  return Array.isArray(parsed.data) ? parsed.data.join(',') : String(parsed.data);
}

export function renderEnvExample(): string {
  const out = [
    '# Twillow configuration. Copy to .env and uncomment what you change; the values shown are the defaults.',
    '# npm start (the launcher) reads .env at the repository root and passes it to every process it starts;',
    '# real environment variables win. A service started by hand reads only its environment.',
    '# docker compose reads it too (API_KEYS and ADMIN_API_KEY are required there).',
    '# Generated from packages/config/src/env-vars.ts by infra/tools/env-example.ts.',
  ];
  const seen = new Set<string>();
  for (const line of fs.readFileSync(registryFile, 'utf8').split('\n')) {
    const section = /^\s*\/\/ ---\s*(.+?)\s*---/.exec(line);
    if (section) {
      out.push('', `# --- ${section[1]} ---`);
      continue;
    }
    const m = /^\s{2}([A-Z][A-Z0-9_]*):/.exec(line);
    if (!m || !(m[1] in envVars) || seen.has(m[1])) continue;
    const name = m[1] as EnvVarName;
    seen.add(name);
    const description = envVars[name].description;
    if (description) out.push(`# ${description}`);
    out.push(`# ${name}=${defaultOf(name)}`);
  }
  // Variables declared in a shape the line scan missed still get listed.
  const missed = (Object.keys(envVars) as EnvVarName[]).filter((n) => !seen.has(n));
  if (missed.length) out.push('', '# --- other ---', ...missed.map((n) => `# ${n}=${defaultOf(n)}`));
  out.push(
    '',
    '# --- npm start only (scripts/launcher.js) ---',
    '# Number of dispatchers npm start runs (ports DISPATCHER_PORT, +1, ...).',
    '# DISPATCHERS=1',
    '# Directory of the Redis AOF npm start owns and of the default SQLite file.',
    '# TWILLOW_DATA_DIR=./data',
    '',
  );
  return out.join('\n');
}

if (require.main === module) process.stdout.write(renderEnvExample());
