// Shared jest settings: every project compiles TypeScript with SWC and resolves the
// workspace packages to their sources through the "development" export condition.
const path = require('node:path');

/** @param {string} projectDir absolute path of the project using the preset */
module.exports = function jestConfig(projectDir, overrides = {}) {
  return {
    rootDir: projectDir,
    testEnvironment: 'node',
    testEnvironmentOptions: { customExportConditions: ['node', 'require', 'development'] },
    transform: {
      '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
    },
    moduleFileExtensions: ['ts', 'js', 'json'],
    testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.test.ts'],
    testTimeout: 30000,
    maxWorkers: 1,
    cacheDirectory: path.join(__dirname, 'node_modules', '.cache', 'jest'),
    ...overrides,
  };
};
