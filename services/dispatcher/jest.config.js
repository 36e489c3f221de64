// The generated Prisma client (through @twillow/db) imports its siblings as './x.js' (TypeScript
// nodenext style); jest resolves them to the .ts sources.
module.exports = require('../../jest.preset.js')(__dirname, {
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
});
