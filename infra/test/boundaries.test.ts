import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkBoundaries, checkTags, importsOf } from '../tools/boundaries';

const root = path.resolve(__dirname, '../..');

describe('import boundaries of the workspace', () => {
  it('has no package importing a service or mock, no service importing another service or a mock, and no production import of @twillow/testing', () => {
    expect(checkBoundaries(root)).toEqual([]);
  });

  it('tags every project with the type of its folder', () => {
    expect(checkTags(root)).toEqual([]);
  });
});

describe('the boundary checker, given a workspace that breaks the rules', () => {
  let dir: string;
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  const project = (folder: string, name: string, tag: string, pkg = `@twillow/${name}`) => {
    write(`${folder}/${name}/package.json`, JSON.stringify({ name: pkg }));
    write(`${folder}/${name}/project.json`, JSON.stringify({ name, tags: [tag] }));
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'twillow-boundaries-'));
    project('packages', 'config', 'type:package');
    project('packages', 'testing', 'type:package');
    project('services', 'gateway', 'type:service');
    project('services', 'dispatcher', 'type:service');
    project('mocks', 'provider', 'type:mock', '@twillow/provider-mock');
    project('packages', 'mislabelled', 'type:service');
    write('packages/config/src/index.ts', "import { x } from '@twillow/gateway';\nexport const y = x;\n");
    write('services/gateway/src/main.ts', "import '@twillow/dispatcher';\nimport { waitFor } from '@twillow/testing';\nconst m = require('@twillow/provider-mock');\n");
    write('services/gateway/src/app.spec.ts', "import { waitFor } from '@twillow/testing';\n");
    write('services/gateway/test/send.test.ts', "import { startMock } from '@twillow/provider-mock';\nimport { waitFor } from '@twillow/testing';\n");
    write('services/dispatcher/src/main.ts', "import { z } from '../../gateway/src/main';\nimport('@twillow/config');\n");
    write('mocks/provider/src/main.ts', "// import '@twillow/gateway' in a comment does not count\nimport { c } from '@twillow/config';\n");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports each violation once, and allows specs and service tests their helpers', () => {
    const problems = checkBoundaries(dir);
    expect(problems.sort()).toEqual(
      [
        'packages/config/src/index.ts: a package imports the service @twillow/gateway',
        'services/gateway/src/main.ts: a service imports another service, @twillow/dispatcher',
        'services/gateway/src/main.ts: production code imports @twillow/testing (test helpers only)',
        'services/gateway/src/main.ts: a service imports the mock @twillow/provider-mock outside its test/ folder',
        'services/dispatcher/src/main.ts: imports services/gateway by a relative path ("../../gateway/src/main"); import @twillow/gateway instead',
      ].sort(),
    );
  });

  it('reports a project whose tag does not match its folder', () => {
    expect(checkTags(dir, [])).toEqual(['packages/mislabelled/project.json: type tags ["type:service"], expected ["type:package"]']);
  });

  it('reads imports, re-exports, require and dynamic import, not comments', () => {
    expect(importsOf("// import 'a'\nimport b from 'b';\nexport * from 'c';\nconst d = require('d');\nvoid import('e');\n").sort()).toEqual(['b', 'c', 'd', 'e']);
  });
});
