export { createUsernsManager, type SandboxUserns, type UsernsManager, type UsernsManagerOptions } from "./manager.js";
export { createNsHelper, type NsHelper } from "./ns-helper.js";
export { checkDataDirReachableByRunc } from "./runc-paths.js";
export { createUidRanges, idsPerSandbox, validateUidRangeOptions, type UidRanges } from "./ranges.js";
