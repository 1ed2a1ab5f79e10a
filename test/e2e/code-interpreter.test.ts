// E2B's @e2b/code-interpreter, unmodified, against `cove up`: the code-interpreter-v1 template
// (built by `cove template build code-interpreter`, reused when current) with a warm pool;
// python, javascript, typescript and bash; the sandbox's env vars; charts and data; the access
// token checked through envd; interrupts; contexts in parallel; a killed sandbox.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Sandbox } from "@e2b/code-interpreter";
import { Template } from "e2b";
import { type CoveUp, killLeftovers, repoRoot, startCoveUp, testTemplatesDir } from "./helpers/cove-up.js";
import { removeDataDir } from "../support/data-dirs.js";
import { suiteNetwork } from "../support/networks.js";

const network = suiteNetwork("e2e/code-interpreter");
const run = promisify(execFile);

describe("@e2b/code-interpreter against cove up", { timeout: 900_000 }, () => {
  let up: CoveUp;
  let dataDir = "";
  const made: Sandbox[] = [];
  const args = ["--pool-size", "1"];
  const env = { COVE_POOL_TEMPLATE: "code-interpreter-v1" };
  const opts = () => ({ apiKey: up.apiKey, apiUrl: up.url, sandboxUrl: up.url, requestTimeoutMs: 60_000 });
  const create = async (extra: { envs?: Record<string, string> } = {}, template = "code-interpreter-v1") => {
    const sbx = await Sandbox.create(template, { ...opts(), ...extra });
    made.push(sbx);
    return sbx;
  };

  before(async () => {
    // Reused when current (a second); built from Debian's packages otherwise (two minutes or so).
    const cove = `${repoRoot}/packages/cli/bin/cove.js`;
    await run(process.execPath, [cove, "template", "build", "code-interpreter", "--data-dir", testTemplatesDir.replace(/\/templates$/, "")], {
      maxBuffer: 64 * 1024 * 1024,
    });
    dataDir = mkdtempSync("/var/tmp/cove-cmx-");
    up = await startCoveUp({ dataDir, ...network, args, env });
  });

  after(async () => {
    for (const sbx of made) await sbx.kill().catch(() => false);
    const code = await up?.stop();
    if (code !== 0) process.stderr.write(`cove up exited ${code}:\n${up?.stderr()}\n`);
    await killLeftovers({ dataDir, ...network, args, env });
    await removeDataDir(dataDir);
  });

  it("Sandbox.create() with no template gets code-interpreter-v1, as from E2B", async () => {
    const sbx = await Sandbox.create(opts());
    made.push(sbx);
    assert.equal((await sbx.getInfo()).templateId, "code-interpreter-v1");
    assert.equal((await sbx.runCode("1 + 1")).text, "2");
  });

  it("python keeps state and sees the sandbox's env vars", async () => {
    const sbx = await create({ envs: { FROM_CREATE: "yes" } });
    assert.equal((await sbx.runCode("x = 40")).error, undefined);
    assert.equal((await sbx.runCode("x + 2")).text, "42");
    const env = await sbx.runCode("import os; (os.environ.get('FROM_CREATE'), os.environ.get('PER_RUN'))", { envs: { PER_RUN: "run" } });
    assert.equal(env.text, "('yes', 'run')");
    assert.equal((await sbx.runCode("import os; 'PER_RUN' in os.environ")).text, "False", "a run's env vars are gone after it");
    // As in E2B's template: kernels run as root, in /home/user.
    const who = await sbx.runCode("import getpass, os; getpass.getuser(), os.getcwd()");
    assert.equal(who.text, "('root', '/home/user')");
  });

  it("javascript, typescript and bash contexts, each with its own state; the server comes back if killed", async () => {
    const sbx = await create();
    const js = await sbx.createCodeContext({ language: "js" });
    await sbx.runCode("let n = 20", { context: js });
    assert.equal((await sbx.runCode("n * 2 + 2", { context: js })).text, "42");
    assert.equal((await sbx.runCode("const v: number = 7; v * 6", { language: "ts" })).text, "42");
    const bash = await sbx.runCode("cd /tmp && echo $(whoami) $(pwd)", { language: "bash" });
    assert.deepEqual(bash.logs.stdout, ["root /tmp\n"]);
    const contexts = await sbx.listCodeContexts();
    for (const language of ["python", "javascript"])
      assert.ok(
        contexts.some((c) => c.language === language),
        `a ${language} context from the start`,
      );
    // Code in the sandbox kills the server (inside the sandbox's own pid namespace): it comes back.
    // (The server's command line starts with /.cove's loader; the restart loop's and this shell's do not.)
    await sbx.commands.run("kill -9 $(pgrep -f '^/[.]cove/lib/ld-linux.*interpreter/server[.]js')", { user: "root" });
    let back: string | undefined;
    for (let i = 0; i < 60 && back !== "2"; i++) {
      back = await sbx.runCode("1 + 1").then(
        (r) => r.text,
        () => undefined,
      );
      if (back !== "2") await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(back, "2", "the server was restarted");
    const out: string[] = [];
    await sbx.runCode("print('streamed')", { onStdout: (m) => out.push(m.line) });
    assert.deepEqual(out, ["streamed\n"]);
  });

  it("a figure is a chart with its elements, a DataFrame is data", async () => {
    const sbx = await create();
    const chart = await sbx.runCode(
      "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [3, 5])\nplt.title('Sales')\nplt.xlabel('shop')\nplt.ylabel('units')\nplt.show()",
    );
    assert.equal(chart.error, undefined, chart.error?.traceback);
    const result = chart.results[0];
    assert.ok(result?.png, "the figure as a PNG");
    assert.equal(result.chart?.type, "bar");
    assert.equal(result.chart?.title, "Sales");
    const frame = await sbx.runCode("import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})");
    assert.deepEqual(frame.results[0]?.data, { a: [1, 2], b: ["x", "y"] });
    assert.ok(frame.results[0]?.html?.includes("<table"));
  });

  it("errors carry name, value and traceback; a timeout interrupts and the context lives on", async () => {
    const sbx = await create();
    const failed = await sbx.runCode("1 / 0");
    assert.equal(failed.error?.name, "ZeroDivisionError");
    assert.match(failed.error?.traceback ?? "", /ZeroDivisionError/);
    await assert.rejects(sbx.runCode("import time; time.sleep(60)", { timeoutMs: 2_000 }));
    // A string's repr loses its quotes, as from E2B's server.
    assert.equal((await sbx.runCode("'still here'")).text, "still here");
  });

  it("counts executions; a kernel that dies is reported and its context starts afresh", async () => {
    const sbx = await create();
    const context = await sbx.createCodeContext();
    const first = await sbx.runCode("n = 1", { context });
    const second = await sbx.runCode("n", { context });
    assert.equal((second.executionCount ?? 0) - (first.executionCount ?? 0), 1);
    const died = await sbx.runCode("import os\nos._exit(1)", { context });
    assert.equal(died.error?.name, "UnexpectedEndOfExecution");
    const after = await sbx.runCode("'n' in globals()", { context });
    assert.equal(after.text, "False", "a fresh kernel");
  });

  it("five contexts run at once", async () => {
    const sbx = await create();
    const contexts = await Promise.all([1, 2, 3, 4, 5].map(() => sbx.createCodeContext()));
    const results = await Promise.all(contexts.map((context, i) => sbx.runCode(`import time; time.sleep(1); ${i} * 10`, { context })));
    assert.deepEqual(
      results.map((r) => r.text),
      ["0", "10", "20", "30", "40"],
    );
  });

  it("/execute needs the sandbox's own access token (envd checks it)", async () => {
    const sbx = await create();
    const execute = (token: string | undefined) =>
      fetch(`${up.url}/execute`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "e2b-sandbox-id": sbx.sandboxId,
          "e2b-sandbox-port": "49999",
          ...(token === undefined ? {} : { "x-access-token": token }),
        },
        body: JSON.stringify({ code: "1" }),
      });
    const other = await create();
    const otherToken = (other as unknown as { envdAccessToken?: string }).envdAccessToken;
    assert.ok(otherToken, "sandboxes have envd tokens");
    for (const token of [undefined, "not-a-token", otherToken]) {
      const res = await execute(token);
      assert.equal(res.status, 401, `token ${token}`);
      await res.body?.cancel();
    }
  });

  it("a template built from code-interpreter-v1 with the SDK keeps its server", async () => {
    const name = `ci-derived-${Date.now().toString(36)}`;
    try {
      const t = Template().fromTemplate("code-interpreter-v1").runCmd("echo extra > /opt/extra.txt", { user: "root" });
      await Template.build(t, name, opts());
      const sbx = await create({}, name);
      assert.equal((await sbx.runCode("import getpass; open('/opt/extra.txt').read().strip(), getpass.getuser()")).text, "('extra', 'root')");
    } finally {
      rmSync(join(testTemplatesDir, name), { recursive: true, force: true });
    }
  });

  it("the alias code-interpreter names the same template; a killed sandbox is the SDK's error", async () => {
    const sbx = await create({}, "code-interpreter");
    assert.equal((await sbx.runCode("'alias'")).text, "alias");
    await sbx.kill();
    await assert.rejects(sbx.runCode("1"), /not found|timeout/i);
  });
});
