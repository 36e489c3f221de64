import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// zod-to-openapi adds `.openapi()` to zod's prototypes; done once here so every schema in this
// package can carry its OpenAPI name and examples. This is the one import-time side effect we allow.
extendZodWithOpenApi(z);

export { z };
