export { createUsernsManager, type SandboxUserns, type UsernsManager } from "./manager.js";
export { createNsHelper } from "./ns-helper.js";
export { checkDataDirReachableByRunc } from "./runc-paths.js";
export { createUidRanges, idsPerSandbox } from "./ranges.js";
