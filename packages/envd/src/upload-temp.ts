import { randomBytes } from "node:crypto";

/**
 * Names of the temporary files an upload writes beside its target before
 * renaming them over it (decision 0004): `.<target>.cove-upload-<n|r><12 hex>`.
 * The letter says whether the upload replaces an existing file (`r`) or
 * creates one (`n`), so a watcher can report the rename as E2B's envd reports
 * an in-place write (WRITE, after CREATE for a new file) without shared state.
 */
const TEMP_NAME = /^\.([\s\S]+)\.cove-upload-([nr])[0-9a-f]{12}$/;

/** A fresh temp name for an upload to the file named `target` (a base name). */
export function uploadTempName(target: string, replaces: boolean): string {
  return `.${target}.cove-upload-${replaces ? "r" : "n"}${randomBytes(6).toString("hex")}`;
}

/** The target and kind of an upload temp name; undefined for any other name. */
export function parseUploadTempName(name: string): { target: string; replaces: boolean } | undefined {
  const match = TEMP_NAME.exec(name);
  return match ? { target: match[1]!, replaces: match[2] === "r" } : undefined;
}
