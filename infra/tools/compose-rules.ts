/**
 * Checks docker-compose.yml without a Docker engine: the structure against the Compose
 * specification's rules (keys, types, references, interpolation) and Twillow's own policy
 * (health checks, scalable services, Redis durability, required API keys).
 * Returns a list of problems; an empty list means the file passes.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export type ComposeDoc = Record<string, unknown>;
type Obj = Record<string, unknown>;

/** Parses compose YAML the way Compose does (YAML 1.1 merge keys `<<: *anchor` included). */
export function parseCompose(text: string): ComposeDoc {
  const doc = YAML.parse(text, { merge: true }) as unknown;
  if (!isObj(doc)) throw new Error('docker-compose.yml is not a mapping');
  return doc;
}

const TOP_LEVEL = new Set(['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'include']);
// Service attributes of the Compose specification (services section).
const SERVICE_KEYS = new Set([
  'annotations', 'attach', 'blkio_config', 'build', 'cap_add', 'cap_drop', 'cgroup', 'cgroup_parent', 'command',
  'configs', 'container_name', 'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period',
  'cpu_rt_runtime', 'cpu_shares', 'cpus', 'cpuset', 'credential_spec', 'depends_on', 'deploy', 'develop',
  'device_cgroup_rules', 'devices', 'dns', 'dns_opt', 'dns_search', 'domainname', 'driver_opts', 'entrypoint',
  'env_file', 'environment', 'expose', 'extends', 'external_links', 'extra_hosts', 'gpus', 'group_add',
  'healthcheck', 'hostname', 'image', 'init', 'ipc', 'isolation', 'labels', 'label_file', 'links', 'logging',
  'mac_address', 'mem_limit', 'mem_reservation', 'mem_swappiness', 'memswap_limit', 'models', 'network_mode',
  'networks', 'oom_kill_disable', 'oom_score_adj', 'pid', 'pids_limit', 'platform', 'ports', 'post_start',
  'pre_stop', 'privileged', 'profiles', 'provider', 'pull_policy', 'read_only', 'restart', 'runtime', 'scale',
  'secrets', 'security_opt', 'shm_size', 'stdin_open', 'stop_grace_period', 'stop_signal', 'storage_opt',
  'sysctls', 'tmpfs', 'tty', 'ulimits', 'use_api_socket', 'user', 'userns_mode', 'uts', 'volumes',
  'volumes_from', 'working_dir',
]);
const BUILD_KEYS = new Set([
  'context', 'dockerfile', 'dockerfile_inline', 'args', 'ssh', 'cache_from', 'cache_to', 'additional_contexts',
  'extra_hosts', 'isolation', 'labels', 'network', 'no_cache', 'platforms', 'privileged', 'pull', 'secrets',
  'shm_size', 'tags', 'target', 'ulimits', 'entitlements',
]);
const HEALTHCHECK_KEYS = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable']);
const DEPENDS_CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
const DURATION = /^(\d+(\.\d+)?(us|ms|s|m|h))+$/;
const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;
// ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}, $VAR, $$.
const INTERPOLATION = /\$(\$|[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?+])[^}]*)?\})/y;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/** Every string in the document, with its path, for the interpolation check. */
function* strings(v: unknown, at: string): Generator<[string, string]> {
  if (typeof v === 'string') yield [at, v];
  else if (Array.isArray(v)) for (const [i, x] of v.entries()) yield* strings(x, `${at}[${i}]`);
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) yield* strings(x, at ? `${at}.${k}` : k);
}

export function interpolationProblems(doc: ComposeDoc): string[] {
  const problems: string[] = [];
  for (const [at, s] of strings(doc, '')) {
    for (let i = s.indexOf('$'); i !== -1; i = s.indexOf('$', i)) {
      INTERPOLATION.lastIndex = i;
      const m = INTERPOLATION.exec(s);
      if (!m) {
        problems.push(`${at}: invalid interpolation at "${s.slice(i, i + 20)}" (write $$ for a literal $)`);
        break;
      }
      i += m[0].length;
    }
  }
  return problems;
}

/** Names of the variables the file requires with ${NAME:?message} or ${NAME?message}. */
export function requiredVariables(doc: ComposeDoc): Set<string> {
  const out = new Set<string>();
  for (const [, s] of strings(doc, '')) for (const m of s.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)) out.add(m[1]);
  return out;
}

function envMap(service: Obj): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => String(e)).map((e) => [e.split('=')[0], e.includes('=') ? e.slice(e.indexOf('=') + 1) : '']));
  }
  if (isObj(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
  return {};
}

function dependsOn(service: Obj): Record<string, string> {
  const d = service.depends_on;
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [String(n), 'service_started']));
  if (isObj(d)) return Object.fromEntries(Object.entries(d).map(([n, c]) => [n, isObj(c) ? String(c.condition ?? 'service_started') : 'service_started']));
  return {};
}

function dockerfileTargets(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8');
  return new Set([...text.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1].toLowerCase()));
}

/** The Compose specification's structural rules. */
export function structureProblems(doc: ComposeDoc, root: string): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL.has(key) && !key.startsWith('x-')) problems.push(`top level: unknown key "${key}"`);
  }
  const services = doc.services;
  if (!isObj(services) || Object.keys(services).length === 0) return [...problems, 'services: missing or empty'];
  const volumes = isObj(doc.volumes) ? doc.volumes : {};
  const networks = isObj(doc.networks) ? doc.networks : {};

  for (const [name, raw] of Object.entries(services)) {
    const at = `services.${name}`;
    if (!SERVICE_NAME.test(name)) problems.push(`${at}: invalid service name`);
    if (!isObj(raw)) {
      problems.push(`${at}: not a mapping`);
      continue;
    }
    const s = raw;
    for (const key of Object.keys(s)) if (!SERVICE_KEYS.has(key) && !key.startsWith('x-')) problems.push(`${at}: unknown key "${key}"`);
    if (s.image === undefined && s.build === undefined) problems.push(`${at}: needs image or build`);
    if (s.image !== undefined && typeof s.image !== 'string') problems.push(`${at}.image: must be a string`);

    if (s.build !== undefined) {
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      if (!isObj(build)) problems.push(`${at}.build: must be a string or a mapping`);
      else {
        for (const key of Object.keys(build)) if (!BUILD_KEYS.has(key) && !key.startsWith('x-')) problems.push(`${at}.build: unknown key "${key}"`);
        const context = path.resolve(root, String(build.context ?? '.'));
        if (!fs.existsSync(context)) problems.push(`${at}.build.context: ${context} does not exist`);
        const dockerfile = path.resolve(context, String(build.dockerfile ?? 'Dockerfile'));
        if (!fs.existsSync(dockerfile)) problems.push(`${at}.build.dockerfile: ${dockerfile} does not exist`);
        else if (build.target !== undefined && !dockerfileTargets(dockerfile).has(String(build.target).toLowerCase())) {
          problems.push(`${at}.build.target: stage "${String(build.target)}" is not in ${path.relative(root, dockerfile)}`);
        }
      }
    }

    for (const key of ['command', 'entrypoint']) {
      const v = s[key];
      if (v !== undefined && typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) {
        problems.push(`${at}.${key}: must be a string or a list of strings`);
      }
    }

    if (s.environment !== undefined) {
      if (Array.isArray(s.environment)) {
        for (const e of s.environment) if (typeof e !== 'string' || !/^[^=\s]+(=.*)?$/s.test(e)) problems.push(`${at}.environment: bad entry ${JSON.stringify(e)}`);
      } else if (isObj(s.environment)) {
        for (const [k, v] of Object.entries(s.environment)) {
          if (!isScalar(v)) problems.push(`${at}.environment.${k}: must be a string, number, boolean or null`);
        }
      } else problems.push(`${at}.environment: must be a mapping or a list`);
    }

    if (s.ports !== undefined) {
      if (!Array.isArray(s.ports)) problems.push(`${at}.ports: must be a list`);
      else {
        for (const p of s.ports) {
          const ok = typeof p === 'number' || (typeof p === 'string' && /^((\[?[\w.:]+\]?|\$\{[^}]+\}):)?((\d+(-\d+)?|\$\{[^}]+\}):)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(p)) || (isObj(p) && p.target !== undefined);
          if (!ok) problems.push(`${at}.ports: bad entry ${JSON.stringify(p)}`);
        }
      }
    }

    if (s.volumes !== undefined) {
      if (!Array.isArray(s.volumes)) problems.push(`${at}.volumes: must be a list`);
      else {
        for (const v of s.volumes) {
          let source: string | undefined;
          if (typeof v === 'string') {
            const parts = v.split(':');
            if (parts.length < 1 || parts.length > 3 || (parts.length >= 2 && !parts[1].startsWith('/'))) problems.push(`${at}.volumes: bad entry "${v}"`);
            source = parts.length >= 2 ? parts[0] : undefined;
          } else if (isObj(v)) {
            if (typeof v.target !== 'string') problems.push(`${at}.volumes: long form needs a target`);
            source = v.type === 'volume' || v.type === undefined ? (v.source as string | undefined) : undefined;
          } else problems.push(`${at}.volumes: bad entry ${JSON.stringify(v)}`);
          // A named volume (not a path) must be declared at the top level.
          if (source && !/^[./~$]/.test(source) && !(source in volumes)) problems.push(`${at}.volumes: volume "${source}" is not declared under volumes`);
        }
      }
    }

    if (s.networks !== undefined) {
      const names = Array.isArray(s.networks) ? s.networks.map(String) : isObj(s.networks) ? Object.keys(s.networks) : null;
      if (!names) problems.push(`${at}.networks: must be a list or a mapping`);
      else for (const n of names) if (n !== 'default' && !(n in networks)) problems.push(`${at}.networks: "${n}" is not declared under networks`);
    }

    if (s.depends_on !== undefined) {
      if (!Array.isArray(s.depends_on) && !isObj(s.depends_on)) problems.push(`${at}.depends_on: must be a list or a mapping`);
      if (isObj(s.depends_on)) {
        for (const [dep, cond] of Object.entries(s.depends_on)) {
          if (!isObj(cond)) problems.push(`${at}.depends_on.${dep}: must be a mapping with a condition`);
          else if (cond.condition !== undefined && !DEPENDS_CONDITIONS.has(String(cond.condition))) {
            problems.push(`${at}.depends_on.${dep}.condition: "${String(cond.condition)}" is not one of ${[...DEPENDS_CONDITIONS].join(', ')}`);
          }
        }
      }
      for (const dep of Object.keys(dependsOn(s))) {
        if (!(dep in services)) problems.push(`${at}.depends_on: unknown service "${dep}"`);
        if (dep === name) problems.push(`${at}.depends_on: depends on itself`);
      }
    }

    if (s.healthcheck !== undefined) {
      const h = s.healthcheck;
      if (!isObj(h)) problems.push(`${at}.healthcheck: must be a mapping`);
      else {
        for (const key of Object.keys(h)) if (!HEALTHCHECK_KEYS.has(key)) problems.push(`${at}.healthcheck: unknown key "${key}"`);
        if (h.test !== undefined) {
          const t = h.test;
          const ok = typeof t === 'string' || (Array.isArray(t) && t.length > 0 && ['NONE', 'CMD', 'CMD-SHELL'].includes(String(t[0])) && t.every((x) => typeof x === 'string'));
          if (!ok) problems.push(`${at}.healthcheck.test: must be a string or a list starting with CMD, CMD-SHELL or NONE`);
        }
        for (const key of ['interval', 'timeout', 'start_period', 'start_interval']) {
          if (h[key] !== undefined && !DURATION.test(String(h[key]))) problems.push(`${at}.healthcheck.${key}: "${String(h[key])}" is not a duration`);
        }
        if (h.retries !== undefined && !Number.isInteger(h.retries)) problems.push(`${at}.healthcheck.retries: must be a whole number`);
        if (h.disable !== undefined && typeof h.disable !== 'boolean') problems.push(`${at}.healthcheck.disable: must be true or false`);
      }
    }

    if (s.restart !== undefined && !/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(String(s.restart))) {
      problems.push(`${at}.restart: "${String(s.restart)}" is not no, always, on-failure[:N] or unless-stopped`);
    }
    if (s.container_name !== undefined && typeof s.container_name !== 'string') problems.push(`${at}.container_name: must be a string`);
  }

  // depends_on must not form a cycle.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, trail: string[]): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') {
      problems.push(`depends_on cycle: ${[...trail, n].join(' -> ')}`);
      return;
    }
    state.set(n, 'visiting');
    const svc = services[n];
    if (isObj(svc)) for (const d of Object.keys(dependsOn(svc))) if (d in services) visit(d, [...trail, n]);
    state.set(n, 'done');
  };
  for (const n of Object.keys(services)) visit(n, []);

  return [...problems, ...interpolationProblems(doc)];
}

export interface PolicyOptions {
  /** Services allowed to publish host ports (the single entry point). */
  publishing: string[];
  /** Variables that must be required with ${NAME:?...} so the stack never runs open. */
  requiredVariables: string[];
}

/** Twillow's rules on top of the specification. */
export function policyProblems(doc: ComposeDoc, options: PolicyOptions): string[] {
  const problems: string[] = [];
  const services = (isObj(doc.services) ? doc.services : {}) as Record<string, Obj>;
  const completedBy = new Set<string>();
  for (const s of Object.values(services)) {
    for (const [dep, cond] of Object.entries(dependsOn(s))) if (cond === 'service_completed_successfully') completedBy.add(dep);
  }

  for (const [name, s] of Object.entries(services)) {
    const at = `services.${name}`;
    // One-shot jobs (restart "no", awaited with service_completed_successfully) have nothing to probe.
    const oneShot = String(s.restart ?? 'no') === 'no' && completedBy.has(name);
    const h = isObj(s.healthcheck) ? s.healthcheck : null;
    if (!oneShot && (!h || h.disable === true || h.test === undefined || (Array.isArray(h.test) && h.test[0] === 'NONE'))) {
      problems.push(`${at}: has no health check`);
    }
    if (s.container_name !== undefined) problems.push(`${at}: container_name prevents --scale`);
    if (s.ports !== undefined && !options.publishing.includes(name)) problems.push(`${at}: publishes host ports, which prevents --scale (only ${options.publishing.join(', ')} may)`);
    if (s.scale !== undefined || (isObj(s.deploy) && s.deploy.replicas !== undefined)) problems.push(`${at}: fixes its replica count; scale with --scale instead`);
  }

  const redis = services.redis;
  if (!redis) problems.push('services.redis: missing');
  else {
    const cmd = Array.isArray(redis.command) ? redis.command.map(String) : String(redis.command ?? '').split(/\s+/);
    const i = cmd.indexOf('--appendonly');
    if (i === -1 || cmd[i + 1] !== 'yes') problems.push('services.redis: command must turn AOF on (--appendonly yes)');
    const vols = Array.isArray(redis.volumes) ? redis.volumes : [];
    const dataVolume = vols.some((v) => (typeof v === 'string' ? /^[A-Za-z0-9][\w.-]*:\/data(:|$)/.test(v) : isObj(v) && v.type === 'volume' && v.target === '/data'));
    if (!dataVolume) problems.push('services.redis: /data must be a named volume so the AOF survives the container');
  }

  const required = requiredVariables(doc);
  for (const v of options.requiredVariables) if (!required.has(v)) problems.push(`variable ${v} must be required with \${${v}:?message}`);

  // Application services: bind 0.0.0.0, reach Redis and providers by service name, share the database.
  for (const [name, s] of Object.entries(services)) {
    const env = envMap(s);
    if (env.REDIS_URL !== undefined && env.REDIS_URL !== 'redis://redis:6379') problems.push(`services.${name}: REDIS_URL must be redis://redis:6379`);
    if (s.build !== undefined && env.HOST !== undefined && env.HOST !== '0.0.0.0') problems.push(`services.${name}: HOST must be 0.0.0.0`);
    for (const n of [1, 2, 3]) {
      const url = env[`PROVIDER${n}_URL`];
      if (url === undefined) continue;
      let host = '';
      try {
        host = new URL(url).hostname;
      } catch {
        problems.push(`services.${name}: PROVIDER${n}_URL is not a URL`);
        continue;
      }
      if (!(host in services)) problems.push(`services.${name}: PROVIDER${n}_URL points at "${host}", which is not a service`);
    }
    if (env.DATABASE_URL !== undefined) {
      const file = env.DATABASE_URL.replace(/^file:/, '');
      const vols = Array.isArray(s.volumes) ? s.volumes.filter((v): v is string => typeof v === 'string') : [];
      const onVolume = vols.some((v) => {
        const [src, dst] = v.split(':');
        return dst !== undefined && !/^[./~]/.test(src) && file.startsWith(`${dst.replace(/\/$/, '')}/`);
      });
      if (!onVolume) problems.push(`services.${name}: DATABASE_URL ${env.DATABASE_URL} is not on a named volume`);
    }
  }
  return problems;
}

export function validateComposeFile(file: string, root: string, options: PolicyOptions): string[] {
  const doc = parseCompose(fs.readFileSync(file, 'utf8'));
  return [...structureProblems(doc, root), ...policyProblems(doc, options)];
}

export { envMap, dependsOn };
