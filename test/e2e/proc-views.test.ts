// What a sandbox made through the official e2b SDK against `cove up` sees of its own resources:
// `free` and /proc/meminfo give its memory limit, /proc/uptime counts from its start (lxcfs).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Sandbox } from "e2b";
import { suiteNetwork } from "../support/networks.js";
import { type CoveUp, killLeftovers, startCoveUp } from "./helpers/cove-up.js";
import { removeDataDir } from "../support/data-dirs.js";

const hasLxcfs = ["/usr/bin/lxcfs", "/usr/local/bin/lxcfs"].some((p) => existsSync(p));
if (!hasLxcfs) console.log("# proc-views e2e: skipped: lxcfs is not installed (scripts/install-deps.sh)");

/** The base template's limits (template.json defaults). */
const templateMemoryBytes = 512 * 1024 * 1024;

describe("e2b SDK against cove up: a sandbox sees its own resources", { skip: !hasLxcfs, timeout: 300_000 }, () => {
  const network = suiteNetwork("e2e/proc-views");
  let dataDir = "";
  let up: CoveUp | undefined;
  let sbx: Sandbox;

  before(async () => {
    dataDir = mkdtempSync("/var/tmp/cove-cmv-");
    up = await startCoveUp({ dataDir, ...network, args: ["--kill-on-exit"] });
    sbx = await Sandbox.create({ apiKey: up.apiKey, apiUrl: up.url, sandboxUrl: up.url, requestTimeoutMs: 60_000 });
  });

  after(async () => {
    if (up) {
      await sbx?.kill().catch(() => false);
      await up.stop();
    }
    if (dataDir) {
      await killLeftovers({ dataDir, ...network });
      await removeDataDir(dataDir);
    }
  });

  it("free -b shows the sandbox's memory, not the host's", async () => {
    const free = await sbx.commands.run("free -b");
    const mem = free.stdout.split("\n").find((l) => l.startsWith("Mem:"));
    assert.equal(Number(mem?.trim().split(/\s+/)[1]), templateMemoryBytes, free.stdout);
    const meminfo = await sbx.commands.run("grep MemTotal /proc/meminfo");
    assert.match(meminfo.stdout, /^MemTotal:\s+524288 kB$/m);
  });

  it("uptime counts from the sandbox's start", async () => {
    const sandboxUptime = Number((await sbx.commands.run("cat /proc/uptime")).stdout.split(" ")[0]);
    const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    assert.ok(sandboxUptime < hostUptime, `${sandboxUptime} < host ${hostUptime}`);
  });
});
