import { fileURLToPath } from "node:url";

/** The node's cove-spawn helper, built by `npm run build` (scripts/build-native.mjs). */
export const spawnHelperPath = fileURLToPath(new URL("../../build/native/cove-spawn", import.meta.url));
