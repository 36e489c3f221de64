export { z } from './zod';
export * from './api';
export * from './health';
export * from './jobs';
