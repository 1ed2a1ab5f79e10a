import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { CommandError, runCommand as run, type RunCommandOptions } from "../src/exec/run-command.js";
import { childProcessSpawner, createHelperSpawner, type Spawner } from "@cove/protocol/spawner";
import { spawnHelperPath } from "./helpers/spawn-helper.js";

const node = process.execPath;

// The same contract whichever way the command is started.
for (const [name, spawner] of [
  ["child_process", childProcessSpawner],
  ["cove-spawn", createHelperSpawner(spawnHelperPath)],
] as Array<[string, Spawner]>) {
  describe(`runCommand through ${name} (the node's one host-command runner)`, () => {
    after(() => spawner.close());
    const runCommand = (argv: readonly string[], options: RunCommandOptions = {}) => run(argv, { ...options, spawner });

    it("resolves stdout and stderr of a command that exits 0, with stdin fed", async () => {
      const r = await runCommand([node, "-e", "process.stdin.pipe(process.stdout); console.error('e')"], { input: "hello" });
      assert.equal(r.stdout, "hello");
      assert.equal(r.stderr, "e\n");
    });

    it("never runs a shell: metacharacters are plain arguments", async () => {
      const r = await runCommand([node, "-e", "console.log(process.argv[1])", "$(echo no); echo no"]);
      assert.equal(r.stdout, "$(echo no); echo no\n");
    });

    it("rejects a non-zero exit with argv, exit code and stderr", async () => {
      const argv = [node, "-e", "console.error('bad thing'); process.exit(3)"];
      const err = await runCommand(argv).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof CommandError);
      assert.deepEqual(err.argv, argv);
      assert.equal(err.exitCode, 3);
      assert.equal(err.stderr, "bad thing\n");
      assert.equal(err.timedOut, false);
      assert.match(err.message, /exited 3: bad thing/);
    });

    it("reports a missing binary by errno", async () => {
      const err = await runCommand(["/nonexistent/cove-no-such-tool"]).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof CommandError);
      assert.equal(err.errno, "ENOENT");
    });

    it("stops a command at its timeout", async () => {
      const started = Date.now();
      const err = await runCommand([node, "-e", "setTimeout(() => {}, 60000)"], { timeoutMs: 200 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof CommandError);
      assert.equal(err.timedOut, true);
      assert.ok(Date.now() - started < 10_000, "the command was not stopped");
    });

    it("streams lines and keeps the last ones for the error", async () => {
      const lines: string[] = [];
      const script = "for (let i = 0; i < 30; i++) console.log('line ' + i); console.error('last'); process.exit(1)";
      const err = await runCommand([node, "-e", script], { onLine: (l) => lines.push(l) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.equal(lines.length, 31);
      assert.ok(err instanceof CommandError);
      const tail = err.stderr.split("\n");
      assert.equal(tail.length, 20);
      assert.ok(tail.includes("last") && tail.includes("line 29") && !tail.includes("line 0"));
    });
  });
}
