#!/usr/bin/env bash
# Scaffolds a workspace project: scripts/new-project.sh <packages|services|mocks> <name> <tag>
# Writes package.json, project.json, tsconfig.json (typecheck), tsconfig.build.json and jest.config.js.
set -euo pipefail
kind=$1; name=$2; tag=${3:-$1}
dir="$kind/$name"
mkdir -p "$dir/src"
entry=index; [ "$kind" = packages ] || entry=main
cat > "$dir/package.json" <<JSON
{
  "name": "@twillow/$name",
  "version": "0.1.0",
  "private": true,
  "main": "./dist/$entry.js",
  "types": "./dist/$entry.d.ts",
  "exports": {
    ".": {
      "development": "./src/$entry.ts",
      "types": "./dist/$entry.d.ts",
      "default": "./dist/$entry.js"
    }
  }
}
JSON
cat > "$dir/project.json" <<JSON
{
  "name": "$name",
  "\$schema": "../../node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "$dir/src",
  "projectType": "$([ "$kind" = packages ] && echo library || echo application)",
  "tags": ["type:$tag"],
  "targets": {
    "build": {
      "executor": "nx:run-commands",
      "options": { "command": "tsc -p tsconfig.build.json", "cwd": "{projectRoot}" }
    },
    "typecheck": {
      "executor": "nx:run-commands",
      "options": { "command": "tsc -p tsconfig.json --noEmit", "cwd": "{projectRoot}" }
    },
    "test": {
      "executor": "nx:run-commands",
      "options": { "command": "jest --config jest.config.js", "cwd": "{projectRoot}" }
    }
  }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "../..", "noEmit": true },
  "include": ["src/**/*.ts", "test/**/*.ts"]
}
JSON
cat > "$dir/tsconfig.build.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": {
    "rootDir": "src",
    "outDir": "dist",
    "declaration": true,
    "customConditions": [],
    "types": ["node"]
  },
  "include": ["src/**/*.ts"],
  "exclude": ["src/**/*.spec.ts"]
}
JSON
cat > "$dir/jest.config.js" <<JSON
module.exports = require('../../jest.preset.js')(__dirname);
JSON
