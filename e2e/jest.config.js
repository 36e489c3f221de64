// End-to-end scenarios start real processes: long timeouts, one file at a time (--runInBand in
// project.json), and a bail-out-free run so that every file stops its own stack in afterAll.
module.exports = require('../jest.preset.js')(__dirname, {
  testTimeout: 180000,
  slowTestThreshold: 60,
});
