// The launcher tests start whole stacks (several node processes each), hence the longer timeout.
module.exports = require('../jest.preset.js')(__dirname, { testTimeout: 120000 });
