export { z } from './zod';
export * from './api';
export * from './health';
export * from './jobs';
export * from './gateway';
export { buildGatewayOpenApi, type OpenApiDocument, type OpenApiOptions } from './openapi';
