export { INTERPRETER_PORT, loadConfig, ConfigError, type InterpreterConfig, type InterpreterFlags } from "./config.js";
export { createInterpreterServer, type InterpreterServer, type InterpreterServerOptions } from "./server.js";
export { InterpreterError, type InterpreterErrorCode } from "./errors.js";
export { normalizeLanguage, LANGUAGES, type Language } from "./language.js";
export { encodeLine, resultLine, type OutputLine } from "./output.js";
export type { ContextInfo, ContextManager } from "./contexts.js";
