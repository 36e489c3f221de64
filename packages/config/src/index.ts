export { envVars, type EnvVarName } from './env-vars';
export { ConfigError, loadConfig, pickEnv } from './load-config';
export { PROVIDER_IDS, logLevel, providerSettings, sqlitePath, type ProviderId, type ProviderSettings } from './derived';
export { describeEnvVars, renderEnvTable, withEnvTable, type EnvVarDoc } from './env-docs';
