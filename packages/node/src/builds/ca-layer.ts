import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Layer, LayerStore } from "@cove/builder";

/** The Debian-family system bundle, which most images and tools read. */
const SYSTEM_BUNDLE = "etc/ssl/certs/ca-certificates.crt";
/** The operator's certificates alone (Node adds them to its own store). */
const EXTRA_BUNDLE = "etc/ssl/certs/cove-extra-ca.pem";

/** What a build's steps and its template get so that TLS through the host's intercepting proxy verifies. */
export const CA_ENV: Record<string, string> = {
  NODE_EXTRA_CA_CERTS: `/${EXTRA_BUNDLE}`,
  SSL_CERT_FILE: `/${SYSTEM_BUNDLE}`,
  REQUESTS_CA_BUNDLE: `/${SYSTEM_BUNDLE}`,
  CURL_CA_BUNDLE: `/${SYSTEM_BUNDLE}`,
  PIP_CERT: `/${SYSTEM_BUNDLE}`,
};

/** The operator's extra CA certificates: a PEM bundle file, or every `*.crt` in a directory (Debian's local anchors). */
export async function readExtraCaCerts(path: string): Promise<string> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return "";
  if (!info.isDirectory()) return readFile(path, "utf8");
  const names = (await readdir(path)).filter((n) => n.endsWith(".crt")).sort();
  const pems = await Promise.all(names.map((n) => readFile(join(path, n), "utf8")));
  return pems.map((p) => (p.endsWith("\n") ? p : `${p}\n`)).join("");
}

/** The system bundle as the stack below shows it: the topmost layer that has it as a regular file. */
async function systemBundle(lower: string[]): Promise<string> {
  for (const dir of [...lower].reverse()) {
    const path = join(dir, SYSTEM_BUNDLE);
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    // A whiteout (0:0 character device) deletes it; anything else that is not a file: no bundle.
    return info.isFile() ? readFile(path, "utf8") : "";
  }
  return "";
}

/**
 * A layer on top of a build's source that trusts the operator's CA certificates: the system
 * bundle with them appended, the certificates alone for Node, and under
 * /usr/local/share/ca-certificates so an `update-ca-certificates` in a later step keeps them.
 * Cached by the source and the certificates.
 */
export async function caLayer(store: LayerStore, parentKey: string, lower: string[], pem: string): Promise<Layer> {
  const key = createHash("sha256")
    .update(JSON.stringify(["extra-ca", parentKey, pem]))
    .digest("hex");
  const cached = await store.get(key);
  if (cached) return cached;
  const system = await systemBundle(lower);
  const staged = await store.stage();
  try {
    await mkdir(join(staged.dir, "etc/ssl/certs"), { recursive: true, mode: 0o755 });
    await mkdir(join(staged.dir, "usr/local/share/ca-certificates"), { recursive: true, mode: 0o755 });
    await writeFile(join(staged.dir, SYSTEM_BUNDLE), `${system}${system === "" || system.endsWith("\n") ? "" : "\n"}${pem}`, { mode: 0o644 });
    await writeFile(join(staged.dir, EXTRA_BUNDLE), pem, { mode: 0o644 });
    await writeFile(join(staged.dir, "usr/local/share/ca-certificates/cove-extra-ca.crt"), pem, { mode: 0o644 });
    return await store.commit(staged, key);
  } catch (err) {
    await store.discard(staged);
    throw err;
  }
}
