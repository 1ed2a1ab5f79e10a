export { prepareCopyStep, type PreparedCopyStep } from "./copy-step.js";
export { type IgnoreRule, type IgnoreRules, isIgnored, parseDockerignore, readDockerignore } from "./dockerignore.js";
export { computeFilesHash } from "./hash.js";
export { type ContextEntry, matchContextFiles } from "./match.js";
export { type ContextTarOptions, createContextTar } from "./tar.js";
