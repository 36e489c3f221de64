export { errorMiddleware, notFoundHandler, sendError } from './error.middleware';
export { DEFAULT_DRAIN_MS, describeListenError, listen, type RunningServer } from './http-server';
export { requestIdMiddleware } from './request-id.middleware';
export { apiKeyAuth, keyId, presentedKey, type ApiKeyAuth, type ApiKeyAuthOptions } from './api-key.middleware';
export { adminSession, sendSignInPage, type AdminSession, type AdminSessionOptions, type SignInPage } from './admin-session';
export { runService, type RunnableService, type RunServiceOptions } from './run-service';
