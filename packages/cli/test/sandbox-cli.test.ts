import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { formatTable, formatTime } from "../src/output.js";
import { collectPairs } from "../src/commands/sandbox/common.js";
import { shellQuote } from "../src/commands/sandbox/exec.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const cove = join(root, "packages/cli/bin/cove.js");
// Shared with the template tests: built once per machine.
const templatesRoot = "/var/tmp/cove-test";
const templatesDir = join(templatesRoot, "templates");
const isRoot = process.getuid?.() === 0;
const serverEnv = {
  ...process.env,
  COVE_TEMPLATES_DIR: templatesDir,
  COVE_NETWORK_PREFIX: suiteNetwork("cli/sandbox-cli").prefix,
  COVE_SANDBOX_CIDR: suiteNetwork("cli/sandbox-cli").cidr,
  COVE_SANDBOX_DNS: "127.0.0.1",
};

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then left open (the command must end on its own). */
  input?: string;
  timeoutMs?: number;
}

/** Runs `cove <args>` from the repo root; a hung command is killed (by its pid) and reported. */
async function runCove(args: string[], options: RunOptions = {}): Promise<Result> {
  const child = spawn(process.execPath, [cove, ...args], { cwd: root, env: options.env ?? process.env, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c));
  child.stderr.on("data", (c: Buffer) => (stderr += c));
  if (options.input !== undefined) child.stdin.write(options.input);
  else child.stdin.end();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 60_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  child.stdin.destroy();
  assert.ok(!timedOut, `cove ${args.join(" ")} did not finish; stdout: ${stdout}; stderr: ${stderr}`);
  return { code, stdout, stderr };
}

describe("cli helpers", () => {
  it("aligns table columns without trailing blanks", () => {
    assert.equal(
      formatTable(
        ["ID", "STATE"],
        [
          ["abc", "running"],
          ["a", ""],
        ],
      ),
      "ID   STATE\nabc  running\na\n",
    );
  });

  it("prints times to the second in UTC, '-' for none", () => {
    assert.equal(formatTime(new Date("2026-01-02T03:04:05.678Z")), "2026-01-02T03:04:05Z");
    assert.equal(formatTime(null), "-");
  });

  it("collects KEY=VALUE pairs, keeping '=' in values", () => {
    assert.deepEqual(collectPairs("b=c=d", collectPairs("a=1")), { a: "1", b: "c=d" });
    assert.throws(() => collectPairs("novalue"), /expected KEY=VALUE/);
    assert.throws(() => collectPairs("=v"), /expected KEY=VALUE/);
  });

  it("quotes argv so a shell sees the same words", () => {
    const argv = ["printf", "%s|", "two words", "it's", "$HOME", "a;b", "", "*"];
    assert.equal(execFileSync("sh", ["-c", shellQuote(argv)], { encoding: "utf8" }), "two words|it's|$HOME|a;b||*|");
  });
});

describe("cove sandbox / keys / template list against cove up", { skip: isRoot ? false : "needs root (cove up runs crun sandboxes)", timeout: 600_000 }, () => {
  let server: ChildProcessWithoutNullStreams | undefined;
  let serverLog = "";
  let dataDir = "";
  let env: NodeJS.ProcessEnv = {};
  const suite = `t${process.pid}`;
  const created: string[] = [];

  const sandbox = (args: string[], options: RunOptions = {}) => runCove(["sandbox", ...args], { env, ...options });
  const listJson = async (...args: string[]): Promise<{ sandboxId: string; templateId: string; state: string; metadata: Record<string, string> }[]> => {
    const res = await sandbox(["list", "--json", ...args]);
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as never;
  };

  before(async () => {
    if (!existsSync(join(templatesDir, "base", "template.json"))) {
      const built = await runCove(["template", "build", "base", "--data-dir", templatesRoot], { timeoutMs: 900_000 });
      assert.equal(built.code, 0, built.stderr);
    }
    dataDir = await mkdtemp("/tmp/cove-cli-test-");
    const child = spawn(process.execPath, [cove, "up", "--port", "0", "--data-dir", dataDir, "--kill-on-exit", "--pool-size", "0"], {
      cwd: root,
      env: serverEnv,
      stdio: "pipe",
    });
    server = child;
    child.stderr.on("data", (c: Buffer) => (serverLog += c));
    const exports = await new Promise<Record<string, string>>((resolve, reject) => {
      let out = "";
      const found: Record<string, string> = {};
      const timer = setTimeout(() => reject(new Error(`cove up printed no exports within 120 s:\n${serverLog}`)), 120_000);
      child.stdout.on("data", (c: Buffer) => {
        out += c;
        for (const m of out.matchAll(/^export (E2B_API_URL|E2B_SANDBOX_URL|E2B_API_KEY)=(\S+)$/gm)) found[m[1]!] = m[2]!;
        if (Object.keys(found).length === 3) {
          clearTimeout(timer);
          resolve(found);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`cove up exited (${code}) before it was ready:\n${serverLog}`));
      });
    });
    env = { ...process.env, ...exports };
  });

  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = once(server, "exit");
      server.kill("SIGTERM");
      const timer = setTimeout(() => server?.kill("SIGKILL"), 60_000);
      await exited;
      clearTimeout(timer);
    }
    if (created.length > 0) console.log(`sandboxes created by this suite: ${created.join(" ")}`);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  let id = "";
  let second = "";

  it("create prints the new sandbox's id", async () => {
    const res = await sandbox(["create", "base", "--timeout", "300", "--metadata", `suite=${suite}`, "--env", "GREETING=hello"]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^[a-z0-9]+\n$/);
    id = res.stdout.trim();
    created.push(id);

    const json = await sandbox(["create", "--json", "--metadata", `suite=${suite}`, "--metadata", "role=second"]);
    assert.equal(json.code, 0, json.stderr);
    const info = JSON.parse(json.stdout) as { sandboxId: string; templateId: string; state: string; metadata: Record<string, string> };
    assert.equal(info.templateId, "base");
    assert.equal(info.state, "running");
    assert.deepEqual(info.metadata, { suite, role: "second" });
    second = info.sandboxId;
    created.push(second);
  });

  it("list shows it, as a table and as JSON, filtered by metadata and state", async () => {
    const table = await sandbox(["list", "--metadata", `suite=${suite}`]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^ID\s+TEMPLATE\s+STATE\s+STARTED\s+ENDS\s+METADATA$/);
    const row = lines.find((l) => l.startsWith(`${id} `));
    assert.ok(row, table.stdout);
    assert.match(row, new RegExp(`^${id}\\s+base\\s+running\\s+\\S+Z\\s+\\S+Z\\s+suite=${suite}$`));

    const all = await listJson();
    const mine = all.find((s) => s.sandboxId === id);
    assert.deepEqual(mine && { templateId: mine.templateId, state: mine.state, metadata: mine.metadata }, {
      templateId: "base",
      state: "running",
      metadata: { suite },
    });
    assert.deepEqual(
      (await listJson("--metadata", `suite=${suite}`, "--metadata", "role=second")).map((s) => s.sandboxId),
      [second],
    );
    assert.deepEqual(await listJson("--metadata", `suite=${suite}`, "--state", "paused"), []);
  });

  it("exec streams output and exits with the command's exit code", async () => {
    const res = await sandbox(["exec", id, "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert.equal(res.stdout, "out\n");
    assert.equal(res.stderr, "err\n");
    assert.equal(res.code, 3);

    const ok = await sandbox(["exec", id, "--cwd", "/tmp", "--env", "EXTRA=x y", "--", "sh", "-c", 'echo "$GREETING $EXTRA"; pwd']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hello x y\n/tmp\n");
  });

  it("exec keeps the sandbox alive while attached, past the sandbox's own timeout", async () => {
    const short = await sandbox(["create", "--timeout", "3", "--metadata", `suite=${suite}`]);
    assert.equal(short.code, 0, short.stderr);
    const shortId = short.stdout.trim();
    created.push(shortId);
    // Extends every 0.5 s here (every minute by default); the command outlives the 3 s timeout.
    const res = await sandbox(["exec", shortId, "--", "sh", "-c", "sleep 6; echo survived"], { env: { ...env, COVE_CLI_KEEPALIVE_MS: "500" } });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, "survived\n");
    assert.equal((await sandbox(["kill", shortId])).code, 0);
  });

  it("shell runs an interactive shell through a PTY and exits with it", async () => {
    const res = await sandbox(["shell", id], { input: "echo shell-ok-$((1+1)); exit\n" });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /shell-ok-2/);
  });

  it("kill kills each sandbox, and list no longer has them", async () => {
    const res = await sandbox(["kill", id, second]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, `${id}\n${second}\n`);
    const left = (await listJson()).map((s) => s.sandboxId);
    assert.ok(!left.includes(id) && !left.includes(second), left.join(" "));
  });

  it("kill of an unknown id fails with one line", async () => {
    const res = await sandbox(["kill", "nosuchsandbox0000000"]);
    assert.equal(res.code, 1);
    assert.equal(res.stderr, "cove: sandbox nosuchsandbox0000000 not found\n");
    const exec = await sandbox(["exec", "nosuchsandbox0000000", "--", "true"]);
    assert.equal(exec.code, 1);
    assert.equal(exec.stderr, "cove: sandbox nosuchsandbox0000000 not found\n");
  });

  it("a wrong or missing API key fails with one line", async () => {
    const wrong = { ...env, E2B_API_KEY: `e2b_${"0".repeat(40)}` };
    for (const args of [
      ["sandbox", "list"],
      ["sandbox", "create"],
      ["keys", "list"],
      ["template", "list"],
    ]) {
      const res = await runCove(args, { env: wrong });
      assert.equal(res.code, 1, args.join(" "));
      assert.equal(res.stderr, "cove: invalid API key (E2B_API_KEY)\n", args.join(" "));
    }
    const missing = await runCove(["sandbox", "list"], { env: { ...env, E2B_API_KEY: "" } });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "cove: no API key: set E2B_API_KEY (cove up prints it)\n");
  });

  it("keys create, list and revoke round trip; a revoked key no longer authenticates", async () => {
    const name = `cli-${suite}`;
    const made = await runCove(["keys", "create", "--name", name], { env });
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^e2b_[0-9a-f]{40}\n$/);
    assert.match(made.stderr, /shown only now/);
    const secret = made.stdout.trim();

    const listed = await runCove(["keys", "list", "--json"], { env });
    assert.equal(listed.code, 0, listed.stderr);
    const key = (JSON.parse(listed.stdout) as { id: string; name: string; kind: string; revokedAt: string | null }[]).find((k) => k.name === name);
    assert.ok(key, listed.stdout);
    assert.equal(key.kind, "api_key");
    assert.equal(key.revokedAt, null);
    const table = await runCove(["keys", "list"], { env });
    assert.match(table.stdout, new RegExp(`^${key.id}\\s+${name}\\s+api_key\\s`, "m"));

    assert.equal((await sandbox(["list", "--api-key", secret])).code, 0);
    const revoked = await runCove(["keys", "revoke", key.id], { env });
    assert.equal(revoked.code, 0, revoked.stderr);
    const refused = await sandbox(["list", "--api-key", secret]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, "cove: invalid API key (--api-key)\n");

    const again = await runCove(["keys", "revoke", key.id], { env });
    assert.equal(again.code, 1);
    assert.equal(again.stderr.split("\n").length, 2, again.stderr);
    assert.match(again.stderr, /^cove: .*already revoked/);

    const token = await runCove(["keys", "create", "--access-token", "--json"], { env });
    assert.equal(token.code, 0, token.stderr);
    assert.match((JSON.parse(token.stdout) as { secret: string }).secret, /^sk_e2b_/);
  });

  it("template list shows base", async () => {
    const table = await runCove(["template", "list"], { env });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+TAGS\s+PUBLIC\s+BUILT\s+CPUS\s+MEMORY MB\s+DISK MB\n/);
    assert.match(table.stdout, /^base\s+default\s+yes\s+\S+Z\s+\d+\s+\d+\s+\d+$/m);
    const json = await runCove(["template", "list", "--json"], { env });
    assert.ok(
      (JSON.parse(json.stdout) as { id: string }[]).some((t) => t.id === "base"),
      json.stdout,
    );
  });
});
