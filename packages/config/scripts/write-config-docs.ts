// Rewrites the generated variable table in docs/configuration.md from the config registry.
import fs from 'node:fs';
import path from 'node:path';
import { withEnvTable } from '../src/env-docs';

const docPath = path.resolve(__dirname, '../../../docs/configuration.md');
fs.writeFileSync(docPath, withEnvTable(fs.readFileSync(docPath, 'utf8')));
console.log(`updated ${path.relative(process.cwd(), docPath)}`);
