import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connectSdk, ensureTestUser, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

function init(envd: TestEnvd, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${envd.url}/init`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function envs(envd: TestEnvd, headers: Record<string, string> = {}): Promise<Record<string, string>> {
  const res = await fetch(`${envd.url}/envs`, { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.ok(res.headers.get("content-length"), "JSON responses carry Content-Length");
  return (await res.json()) as Record<string, string>;
}

describe("envd POST /init and GET /envs", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  before(async () => {
    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });
  after(async () => {
    await sdk?.close();
    await envd?.close();
  });

  it("merges env vars that later processes see, and answers 204 with the version", async () => {
    const first = await init(envd, { envVars: { COVE_A: "one", COVE_B: "two words" } });
    assert.equal(first.status, 204);
    assert.equal(first.headers.get("x-envd-version"), "0.6.13");
    assert.equal(first.headers.get("cache-control"), "no-store");
    assert.equal((await init(envd, { envVars: { COVE_A: "uno" } })).status, 204);

    const vars = await envs(envd);
    assert.equal(vars.COVE_A, "uno");
    assert.equal(vars.COVE_B, "two words");
    const run = await sdk.sandbox.commands.run('echo "$COVE_A|$COVE_B"');
    assert.equal(run.stdout, "uno|two words\n");
  });

  it("ignores an init older than the last applied one", async () => {
    assert.equal((await init(envd, { timestamp: "2030-01-01T00:00:10Z", envVars: { COVE_T: "new" } })).status, 204);
    assert.equal((await init(envd, { timestamp: "2030-01-01T00:00:05.123456789Z", envVars: { COVE_T: "old", COVE_U: "x" } })).status, 204);
    const vars = await envs(envd);
    assert.equal(vars.COVE_T, "new");
    assert.equal(vars.COVE_U, undefined);
  });

  it("rejects malformed bodies with 400 and changes nothing", async () => {
    const cases: unknown[] = [
      "{not json",
      "[1,2]",
      { envVars: { COVE_BAD: 1 } },
      { envVars: ["x"] },
      { accessToken: 42 },
      { defaultUser: "no-such-user-here" },
      { defaultWorkdir: "relative/dir" },
      { timestamp: "yesterday" },
      { envVars: { COVE_PARTIAL: "x" }, defaultUser: "no-such-user-here" },
    ];
    for (const body of cases) {
      const res = await init(envd, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const error = (await res.json()) as { code: number; message: string };
      assert.equal(error.code, 400);
      assert.ok(error.message.length > 0);
    }
    assert.equal((await envs(envd)).COVE_PARTIAL, undefined);
    assert.equal((await init(envd, "")).status, 204, "an empty body is a no-op init");
  });
});

describe("envd /init defaults and token lifecycle", () => {
  let envd: TestEnvd;
  let dir: string;
  before(async () => {
    ensureTestUser();
    dir = await mkdtemp(join(tmpdir(), "cove-init-"));
    envd = await startEnvd();
  });
  after(async () => {
    await envd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("applies defaultUser and defaultWorkdir to later requests", async () => {
    await chmod(dir, 0o777); // the default user must be allowed to write in the workdir
    assert.equal((await init(envd, { defaultUser: "user", defaultWorkdir: dir })).status, 204);
    const sdk = await connectSdk(envd);
    try {
      // As E2B's envd: commands start in the workdir; a relative file path is the user's home's.
      assert.equal((await sdk.sandbox.commands.run("pwd")).stdout.trim(), dir);
      const info = await sdk.sandbox.files.write(`${basename(dir)}-relative.txt`, "in home");
      assert.equal(info.path, join("/home/user", `${basename(dir)}-relative.txt`));
      const uid = Number(execFileSync("id", ["-u", "user"], { encoding: "utf8" }).trim());
      assert.equal((await stat(info.path)).uid, uid);
      assert.equal(await readFile(info.path, "utf8"), "in home");
      await rm(info.path);
    } finally {
      await sdk.close();
      assert.equal((await init(envd, { defaultUser: "root", defaultWorkdir: "" })).status, 204);
    }
  });

  it("sets the access token once, requires it afterwards, and clears it with an empty string", async () => {
    assert.equal((await init(envd, { accessToken: "first-token" })).status, 204);
    assert.equal((await fetch(`${envd.url}/envs`)).status, 401);
    assert.equal((await init(envd, { accessToken: "other" })).status, 401);
    assert.equal((await init(envd, { accessToken: "second-token" }, { "x-access-token": "first-token" })).status, 204);
    assert.equal((await fetch(`${envd.url}/envs`, { headers: { "x-access-token": "first-token" } })).status, 401);
    await envs(envd, { "x-access-token": "second-token" });
    assert.equal((await init(envd, { accessToken: "" }, { "x-access-token": "second-token" })).status, 204);
    await envs(envd);
  });
});

describe("envd GET /metrics", () => {
  let envd: TestEnvd;
  before(async () => {
    envd = await startEnvd();
  });
  after(async () => {
    await envd?.close();
  });

  it("reports CPU, memory and disk in the orchestrator's snake_case shape", async () => {
    const meminfo = await readFile("/proc/meminfo", "utf8");
    const memTotal = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)![1]) * 1024;
    for (let round = 0; round < 2; round++) {
      const res = await fetch(`${envd.url}/metrics`);
      assert.equal(res.status, 200);
      assert.ok(res.headers.get("content-length"));
      const m = (await res.json()) as Record<string, number>;
      assert.deepEqual(Object.keys(m).sort(), [
        "cpu_count",
        "cpu_used_pct",
        "disk_total",
        "disk_used",
        "mem_cache",
        "mem_total",
        "mem_total_mib",
        "mem_used",
        "mem_used_mib",
        "ts",
      ]);
      for (const [key, value] of Object.entries(m)) assert.equal(typeof value, "number", key);
      assert.equal(m.cpu_count, cpus().length);
      assert.ok(m.cpu_used_pct! >= 0 && m.cpu_used_pct! <= 100);
      assert.equal(m.mem_total, memTotal);
      assert.equal(m.mem_total_mib, Math.floor(memTotal / 1048576));
      assert.ok(m.mem_used! > 0 && m.mem_used! < memTotal);
      assert.equal(m.mem_used_mib, Math.floor(m.mem_used! / 1048576));
      assert.ok(m.disk_total! > 0 && m.disk_used! > 0 && m.disk_used! <= m.disk_total!);
      assert.ok(Math.abs(m.ts! - Date.now() / 1000) < 60, "ts is unix seconds");
    }
  });
});
