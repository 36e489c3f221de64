/**
 * The workspace's import boundaries (STYLE.md rule 8), checked on the source text:
 * - packages import only packages;
 * - services import packages only (never another service or a mock); their integration tests
 *   under services/<name>/test/ may also use @twillow/provider-mock;
 * - mocks import packages only;
 * - production code (src/, not *.spec.ts) never imports @twillow/testing;
 * - no project reaches into another by a relative path;
 * - each project's tags say what its folder says (packages -> type:package, ...).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export type ProjectKind = 'package' | 'service' | 'mock';
export const KIND_OF_FOLDER: Record<string, ProjectKind> = { packages: 'package', services: 'service', mocks: 'mock' };

export interface Project {
  kind: ProjectKind;
  /** Path relative to the root, e.g. services/dispatcher. */
  dir: string;
  /** package.json name, e.g. @twillow/dispatcher. */
  packageName: string | null;
}

const SKIP_DIRS = new Set(['node_modules', 'dist', 'generated', 'coverage', '.nx']);
const TESTING = '@twillow/testing';
const MOCK_FOR_TESTS = '@twillow/provider-mock';

export function listProjects(root: string): Project[] {
  const projects: Project[] = [];
  for (const [folder, kind] of Object.entries(KIND_OF_FOLDER)) {
    const base = path.join(root, folder);
    if (!fs.existsSync(base)) continue;
    for (const name of fs.readdirSync(base).sort()) {
      const dir = path.join(base, name);
      if (!fs.statSync(dir).isDirectory()) continue;
      const pkgFile = path.join(dir, 'package.json');
      const packageName = fs.existsSync(pkgFile) ? ((JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { name?: string }).name ?? null) : null;
      projects.push({ kind, dir: `${folder}/${name}`, packageName });
    }
  }
  return projects;
}

function* tsFiles(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) yield* tsFiles(path.join(dir, entry.name));
    } else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      yield path.join(dir, entry.name);
    }
  }
}

/** Module specifiers of a file: imports, re-exports, require() and import() calls. */
export function importsOf(source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

export function checkBoundaries(root: string): string[] {
  const projects = listProjects(root);
  const byPackage = new Map(projects.filter((p) => p.packageName).map((p) => [p.packageName as string, p]));
  const projectOfPath = (abs: string) => {
    const rel = path.relative(root, abs).split(path.sep).join('/');
    return projects.find((p) => rel === p.dir || rel.startsWith(`${p.dir}/`));
  };
  const problems: string[] = [];

  for (const project of projects) {
    for (const file of tsFiles(path.join(root, project.dir))) {
      const rel = path.relative(root, file).split(path.sep).join('/');
      const inProject = rel.slice(project.dir.length + 1);
      const isSpec = file.endsWith('.spec.ts') || file.endsWith('.test.ts');
      const isProduction = inProject.startsWith('src/') && !isSpec;
      const isServiceTest = project.kind === 'service' && inProject.startsWith('test/');

      for (const spec of importsOf(fs.readFileSync(file, 'utf8'))) {
        let target: Project | undefined;
        if (spec.startsWith('.')) {
          target = projectOfPath(path.resolve(path.dirname(file), spec));
          if (target && target.dir !== project.dir) {
            problems.push(`${rel}: imports ${target.dir} by a relative path ("${spec}"); import ${target.packageName ?? 'its package'} instead`);
          }
          continue;
        }
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        target = byPackage.get(name);
        if (!target || target.dir === project.dir) continue;

        if (name === TESTING && isProduction) {
          problems.push(`${rel}: production code imports ${TESTING} (test helpers only)`);
          continue;
        }
        if (project.kind === 'package' && target.kind !== 'package') {
          problems.push(`${rel}: a package imports the ${target.kind} ${name}`);
        } else if (project.kind === 'service' && target.kind === 'service') {
          problems.push(`${rel}: a service imports another service, ${name}`);
        } else if (project.kind === 'service' && target.kind === 'mock' && !(isServiceTest && name === MOCK_FOR_TESTS)) {
          problems.push(`${rel}: a service imports the mock ${name}${isServiceTest ? '' : ' outside its test/ folder'}`);
        } else if (project.kind === 'mock' && target.kind !== 'package') {
          problems.push(`${rel}: a mock imports the ${target.kind} ${name}`);
        }
      }
    }
  }
  return problems;
}

/** Each project.json carries exactly the type tag of its folder. */
export function checkTags(root: string, extra: { dir: string; tag: string }[] = [{ dir: 'infra', tag: 'type:infra' }]): string[] {
  const problems: string[] = [];
  const expected = [...listProjects(root).map((p) => ({ dir: p.dir, tag: `type:${p.kind}` })), ...extra];
  for (const { dir, tag } of expected) {
    const file = path.join(root, dir, 'project.json');
    if (!fs.existsSync(file)) {
      problems.push(`${dir}: no project.json`);
      continue;
    }
    const tags = ((JSON.parse(fs.readFileSync(file, 'utf8')) as { tags?: string[] }).tags ?? []).filter((t) => t.startsWith('type:'));
    if (tags.length !== 1 || tags[0] !== tag) problems.push(`${dir}/project.json: type tags ${JSON.stringify(tags)}, expected ["${tag}"]`);
  }
  return problems;
}
