export { createMockApp, type MockAppDeps } from './app';
export {
  FLAKY_DEFAULT_FAILURE_RATE,
  MOCK_MODES,
  MockState,
  type Admission,
  type MockMode,
  type MockSettings,
  type MockStats,
  type MonotonicClock,
} from './mock-state';
export { PendingResponses } from './pending-responses';
export { startProviderMock, type ProviderMockOptions, type RunningProviderMock } from './start-provider-mock';
export { TimestampWindow } from './timestamp-window';
