import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { envVars } from '@twillow/config';
import { whichSync } from '../../scripts/launcher.js';
import { parseCompose, policyProblems, structureProblems, type ComposeDoc, type PolicyOptions } from '../tools/compose-rules';

const root = path.resolve(__dirname, '../..');
const composeFile = path.join(root, 'docker-compose.yml');
const policy: PolicyOptions = { publishing: ['gateway'], requiredVariables: ['API_KEYS', 'ADMIN_API_KEY'] };
const load = (): ComposeDoc => parseCompose(fs.readFileSync(composeFile, 'utf8'));
type Svc = Record<string, unknown>;
const svc = (doc: ComposeDoc, name: string) => (doc.services as Record<string, Svc>)[name];

describe('docker-compose.yml', () => {
  it('follows the Compose specification: known keys, existing build targets, declared volumes, valid depends_on and interpolation', () => {
    expect(structureProblems(load(), root)).toEqual([]);
  });

  it('meets the stack policy: health checks everywhere, scalable services without container_name or host ports, Redis with AOF on a volume, API keys required', () => {
    expect(policyProblems(load(), policy)).toEqual([]);
  });

  it('runs every process of the stack: redis, migrate, the three provider mocks, gateway, dispatcher and health monitor', () => {
    expect(Object.keys(load().services as object).sort()).toEqual(
      ['dispatcher', 'gateway', 'health-monitor', 'migrate', 'provider1', 'provider2', 'provider3', 'redis'].sort(),
    );
  });

  it('starts the application services only after the migrate job has completed', () => {
    const doc = load();
    for (const name of ['gateway', 'dispatcher', 'health-monitor']) {
      expect(svc(doc, name).depends_on).toMatchObject({ migrate: { condition: 'service_completed_successfully' }, redis: { condition: 'service_healthy' } });
    }
  });

  it('runs each Dockerfile target on a project that exists', () => {
    const dockerfile = fs.readFileSync(path.join(root, 'infra/Dockerfile'), 'utf8');
    const mains = [...dockerfile.matchAll(/"((?:services|mocks)\/[^/]+)\/dist\/main\.js"/g)].map((m) => m[1]);
    expect(mains.length).toBeGreaterThanOrEqual(4);
    for (const dir of mains) expect(fs.existsSync(path.join(root, dir, 'project.json'))).toBe(true);
  });

  it('passes every configuration variable of the registry to the containers (from the shell or .env, or fixed)', () => {
    const doc = load();
    const given = new Set<string>();
    for (const s of Object.values(doc.services as Record<string, Svc>)) {
      if (s.environment && typeof s.environment === 'object') for (const k of Object.keys(s.environment)) given.add(k);
    }
    // Add a new variable to x-app-env (or x-mock-env) in docker-compose.yml as NAME: ${NAME:-}.
    expect(Object.keys(envVars).filter((n) => !given.has(n))).toEqual([]);
  });

  // The checker itself must catch what it claims to catch.
  describe('the checker, given a broken file', () => {
    const mutate = (fn: (doc: ComposeDoc) => void) => {
      const doc = load();
      fn(doc);
      return [...structureProblems(doc, root), ...policyProblems(doc, policy)];
    };

    it('reports a scalable service with a container_name or host ports', () => {
      const problems = mutate((d) => {
        svc(d, 'dispatcher').container_name = 'dispatcher';
        svc(d, 'health-monitor').ports = ['8080:8080'];
      });
      expect(problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/dispatcher: container_name/), expect.stringMatching(/health-monitor: publishes host ports/)]),
      );
    });

    it('reports a service without a health check and Redis without AOF', () => {
      const problems = mutate((d) => {
        delete svc(d, 'gateway').healthcheck;
        svc(d, 'redis').command = ['redis-server'];
      });
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/gateway: has no health check/), expect.stringMatching(/appendonly/)]));
    });

    it('reports unknown keys, unknown dependencies, bad conditions, undeclared volumes, bad durations and bad interpolation', () => {
      const problems = mutate((d) => {
        svc(d, 'gateway').enviroment = {};
        svc(d, 'dispatcher').depends_on = { nosuch: { condition: 'service_healthy' }, redis: { condition: 'healthy' } };
        svc(d, 'health-monitor').volumes = ['undeclared:/data'];
        (svc(d, 'provider1').healthcheck as Svc).interval = '5 seconds';
        (svc(d, 'provider2').environment as Svc).MOCK_MODE = '${MOCK MODE}';
      });
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/gateway: unknown key "enviroment"/),
          expect.stringMatching(/unknown service "nosuch"/),
          expect.stringMatching(/condition: "healthy"/),
          expect.stringMatching(/volume "undeclared" is not declared/),
          expect.stringMatching(/interval: "5 seconds"/),
          expect.stringMatching(/invalid interpolation/),
        ]),
      );
    });

    it('reports a stack that could run open (API_KEYS not required) and a missing build target', () => {
      const problems = mutate((d) => {
        (svc(d, 'gateway').environment as Svc).API_KEYS = '${API_KEYS:-}';
        (svc(d, 'dispatcher').build as Svc).target = 'no-such-stage';
      });
      expect(problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/API_KEYS must be required/), expect.stringMatching(/stage "no-such-stage"/)]),
      );
    });
  });

  // Extra check with Compose v2 itself where it is installed (`config` needs no Docker engine).
  // Compose v1 (Debian's docker-compose 1.29) predates the Compose Specification and is not used.
  const docker = whichSync('docker');
  const hasComposeV2 = Boolean(docker) && spawnSync(docker!, ['compose', 'version'], { encoding: 'utf8' }).status === 0;
  (hasComposeV2 ? it : it.skip)('is accepted by `docker compose config -q`', () => {
    const r = spawnSync(docker!, ['compose', '-f', composeFile, 'config', '-q'], {
      cwd: root,
      env: { ...process.env, API_KEYS: 'k', ADMIN_API_KEY: 'a' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('.env.example', () => {
  it('lists every variable of the configuration registry', () => {
    const text = fs.readFileSync(path.join(root, '.env.example'), 'utf8');
    const listed = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const missing = Object.keys(envVars).filter((n) => !listed.has(n));
    // Regenerate with: node --conditions=development --require tsx/cjs infra/tools/env-example.ts > .env.example
    expect(missing).toEqual([]);
  });
});
