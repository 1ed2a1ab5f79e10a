// envd's logger loads pino with the first line that passes the level: lines logged before it
// loaded must come out in order, with their own time, and a bad level must fail at once.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { createLogger } from "../src/logger.js";

const run = promisify(execFile);
const loggerUrl = new URL("../src/logger.ts", import.meta.url).href;

/** Runs `body` with `log` bound to a logger at `level` in a child process; returns its stderr lines as JSON. */
async function logLines(level: string, body: string): Promise<Record<string, unknown>[]> {
  const script = `import { createLogger } from ${JSON.stringify(loggerUrl)};
const log = createLogger({ level: ${JSON.stringify(level)} });
${body}`;
  const { stderr } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 20_000 });
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("envd logger", () => {
  it("writes lines logged before pino loaded in order, with the time they were logged", async () => {
    const before = Date.now();
    const lines = await logLines(
      "info",
      `log.debug({}, "hidden");
       log.info({ n: 1 }, "first");
       const t = Date.now(); while (Date.now() - t < 30) {}
       log.warn({ n: 2 }, "second");
       setTimeout(() => { log.error({ n: 3 }, "third"); log.flush(); }, 50);`,
    );
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.n, l.svc]),
      [
        [30, "first", 1, "envd"],
        [40, "second", 2, "envd"],
        [50, "third", 3, "envd"],
      ],
    );
    const times = lines.map((l) => l.time as number);
    assert.ok(times.every((t) => t >= before));
    assert.ok((times[1] ?? 0) - (times[0] ?? 0) >= 25, `the second line keeps its own time: ${times.join(", ")}`);
  });

  it("writes nothing at level silent", async () => {
    assert.deepEqual(await logLines("silent", `log.error({}, "never"); log.flush();`), []);
  });

  it("refuses an unknown level when it is created", () => {
    assert.throws(() => createLogger({ level: "loud" }), /level:loud/);
  });
});
