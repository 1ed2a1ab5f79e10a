import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { connectSdk, type SdkHandle } from "./helpers/envd.js";

const SIZE = 100 * 1024 * 1024;
/** The streamed file is bigger, so buffering it stands well clear of the slack. */
const STREAM_SIZE = 256 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/**
 * envd streams with ~1 MiB buffers at a few stages, plus garbage not yet
 * collected: V8 collects ArrayBuffers when ~64 MiB of external memory piles
 * up, so peaks of 60-70 MiB are normal. Buffering the file would add all
 * 256 MiB of it.
 */
const PEAK_RSS_SLACK = 128 * 1024 * 1024;

// envd runs in its own process here, so its peak RSS (VmHWM) is measured
// apart from the client's buffers, and the two do not share one event loop.
describe("envd /files with large files", () => {
  let envd: ChildProcess;
  let sdk: SdkHandle;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "cove-files-large-"));
    const started = await startEnvdProcess();
    envd = started.child;
    sdk = await connectSdk({ url: started.url });
  });
  after(async () => {
    await sdk?.close();
    if (envd?.exitCode === null) {
      const exited = new Promise((resolve) => envd.once("exit", resolve));
      envd.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("streams 256 MiB up and down without buffering it (SDK stream formats)", async (t) => {
    const path = join(dir, "streamed.bin");
    const sent = createHash("sha256");
    let produced = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (produced >= STREAM_SIZE) return controller.close();
        const chunk = randomBytes(CHUNK);
        produced += chunk.length;
        sent.update(chunk);
        controller.enqueue(chunk);
      },
    });
    // Warm up (code paths, buffers), then take envd's peak RSS as the baseline.
    await sdk.sandbox.files.write(join(dir, "warm.bin"), randomBytes(4 * CHUNK).buffer as ArrayBuffer);
    await sdk.sandbox.files.read(join(dir, "warm.bin"), { format: "bytes" });
    const peakBefore = await peakRss(envd.pid!);
    let started = performance.now();
    await sdk.sandbox.files.write(path, source);
    const writeMs = performance.now() - started;
    assert.equal((await stat(path)).size, STREAM_SIZE);

    started = performance.now();
    const stream = await sdk.sandbox.files.read(path, { format: "stream" });
    const received = createHash("sha256");
    let length = 0;
    for await (const chunk of stream) {
      received.update(chunk);
      length += chunk.length;
    }
    const readMs = performance.now() - started;
    const growth = (await peakRss(envd.pid!)) - peakBefore;

    assert.equal(length, STREAM_SIZE);
    assert.equal(received.digest("hex"), sent.digest("hex"));
    t.diagnostic(`write ${mbps(writeMs, STREAM_SIZE)} MB/s, read ${mbps(readMs, STREAM_SIZE)} MB/s, envd peak RSS growth ${(growth / 1048576).toFixed(1)} MiB`);
    assert.ok(growth < PEAK_RSS_SLACK, `envd's peak RSS grew by ${(growth / 1048576).toFixed(1)} MiB while moving 256 MiB`);
  });

  it("writes 100 MiB as multipart bytes and reads them back as bytes", async (t) => {
    const path = join(dir, "bytes.bin");
    const data = randomBytes(SIZE);
    let started = performance.now();
    await sdk.sandbox.files.write(path, new Uint8Array(data) as unknown as ArrayBuffer);
    const writeMs = performance.now() - started;
    started = performance.now();
    const back = await sdk.sandbox.files.read(path, { format: "bytes" });
    const readMs = performance.now() - started;
    assert.equal(back.length, SIZE);
    assert.equal(createHash("sha256").update(back).digest("hex"), createHash("sha256").update(data).digest("hex"));
    t.diagnostic(`multipart write ${mbps(writeMs)} MB/s, bytes read ${mbps(readMs)} MB/s`);
  });
});

function mbps(ms: number, size = SIZE): string {
  return (size / 1e6 / (ms / 1000)).toFixed(0);
}

/** Peak resident set size of a process in bytes (VmHWM). */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  assert.ok(match, "VmHWM missing from /proc/<pid>/status");
  return Number(match[1]) * 1024;
}

/** Starts envd (from source, through tsx) in a child process on a free loopback port. */
async function startEnvdProcess(): Promise<{ child: ChildProcess; url: string }> {
  const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
  const code = [
    `import { createEnvdServer, loadConfig } from ${JSON.stringify(entry)};`,
    `const server = createEnvdServer(loadConfig({ host: "127.0.0.1", port: 0, logLevel: "silent" }, {}));`,
    `const address = await server.listen();`,
    `process.stdout.write(address.port + "\\n");`,
    `process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));`,
  ].join("\n");
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (data: Buffer) => {
      out += data.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.once("exit", (code) => reject(new Error(`envd exited early with code ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}
