// A real registry (Debian's docker-registry, the CNCF distribution) on 127.0.0.1, started
// and stopped by pid, plus the few push calls the tests need (monolithic blob upload and
// manifest PUT), and a fetch that refuses anything but loopback.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const registryBinary = "/usr/bin/docker-registry";

export interface TestRegistry {
  host: string;
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Only loopback: a pull that would fall through to a public registry fails instead. */
export const loopbackFetch = async (input: string, init?: RequestInit): Promise<Response> => {
  const host = new URL(input).hostname;
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") throw new TypeError(`test fetch refuses non-loopback host ${host}`);
  return fetch(input, init);
};

/** A bcrypt htpasswd line from apache2-utils' htpasswd, or undefined when it is not installed. */
export function htpasswdLine(user: string, password: string): string | undefined {
  if (!existsSync("/usr/bin/htpasswd")) return undefined;
  return execFileSync("/usr/bin/htpasswd", ["-nbB", user, password], { encoding: "utf8" }).trim();
}

export async function startRegistry(options: { htpasswd?: string } = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "cove-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let auth = "";
  if (options.htpasswd !== undefined) {
    writeFileSync(join(dir, "htpasswd"), `${options.htpasswd}\n`);
    auth = `auth:\n  htpasswd:\n    realm: cove-test\n    path: ${join(dir, "htpasswd")}\n`;
  }
  const config = `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\nhttp:\n  addr: ${host}\n${auth}`;
  writeFileSync(join(dir, "config.yml"), config);
  const child: ChildProcess = spawn(registryBinary, ["serve", join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, "SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) break;
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry did not start on ${host}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { host, url: `http://${host}`, stop };
}

export const sha256 = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

export interface PushTarget {
  url: string;
  repository: string;
  auth?: { username: string; password: string };
}

function headers(target: PushTarget, extra: Record<string, string> = {}): Record<string, string> {
  const h = { ...extra };
  if (target.auth) h.authorization = `Basic ${Buffer.from(`${target.auth.username}:${target.auth.password}`).toString("base64")}`;
  return h;
}

/** Monolithic upload: POST for an upload URL, then one PUT with the whole blob and its digest. */
export async function pushBlob(target: PushTarget, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(data);
  const start = await fetch(`${target.url}/v2/${target.repository}/blobs/uploads/`, { method: "POST", headers: headers(target) });
  await start.body?.cancel();
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status}`);
  const location = new URL(start.headers.get("location")!, target.url);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, { method: "PUT", body: new Uint8Array(data), headers: headers(target, { "content-type": "application/octet-stream" }) });
  await put.body?.cancel();
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status}`);
  return { digest, size: data.length };
}

export async function pushManifest(target: PushTarget, reference: string, mediaType: string, manifest: unknown): Promise<{ digest: string; size: number }> {
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await fetch(`${target.url}/v2/${target.repository}/manifests/${reference}`, {
    method: "PUT",
    body: new Uint8Array(body),
    headers: headers(target, { "content-type": mediaType }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`manifest push: HTTP ${res.status} ${text}`);
  return { digest: sha256(body), size: body.length };
}

/** Pushes a one-platform OCI image: gzip layers, their diff ids and a config; returns the manifest's descriptor. */
export async function pushImage(
  target: PushTarget,
  tag: string,
  image: { layers: { compressed: Buffer; diffId: string; mediaType?: string }[]; config: Record<string, unknown>; architecture?: string },
): Promise<{ digest: string; size: number }> {
  const layers = [];
  for (const layer of image.layers) {
    const { digest, size } = await pushBlob(target, layer.compressed);
    layers.push({ mediaType: layer.mediaType ?? "application/vnd.oci.image.layer.v1.tar+gzip", digest, size });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: image.architecture ?? "amd64",
      os: "linux",
      config: image.config,
      rootfs: { type: "layers", diff_ids: image.layers.map((l) => l.diffId) },
    }),
  );
  const c = await pushBlob(target, config);
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...c },
    layers,
  };
  return pushManifest(target, tag, manifest.mediaType, manifest);
}
