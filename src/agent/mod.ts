export { type AgentConfig, ConfigError, defaultConfig, devConfig, loadConfigDir, loadConfigFile, mergeConfigObject, validateConfig } from "./config.ts";
export { createLogger, isLogLevel, type Logger, type LogLevel } from "./logger.ts";
export { type RunningAgent, type StartHooks, startAgent } from "./run.ts";
