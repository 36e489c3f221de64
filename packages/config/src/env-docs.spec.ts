import fs from 'node:fs';
import path from 'node:path';
import { envVars } from './env-vars';
import { describeEnvVars, withEnvTable } from './env-docs';

const docPath = path.resolve(__dirname, '../../../docs/configuration.md');

describe('docs/configuration.md', () => {
  it('carries the table generated from the config registry (run `npm run docs:config` after changing a variable)', () => {
    const doc = fs.readFileSync(docPath, 'utf8');
    expect(doc).toBe(withEnvTable(doc));
  });

  it('documents every variable the schemas accept and no variable they do not', () => {
    const doc = fs.readFileSync(docPath, 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual(Object.keys(envVars).sort());
  });

  it('gives every variable a meaning', () => {
    for (const v of describeEnvVars()) expect(v.description.length).toBeGreaterThan(10);
  });
});
