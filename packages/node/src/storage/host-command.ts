import { CommandError, runCommand } from "../exec/run-command.js";
import { NodeError } from "../errors.js";
import type { Spawner } from "@cove/protocol/spawner";

/** Debian package of each binary storage runs, for the message when one is missing. */
const packageOf: Record<string, string> = {
  "mkfs.ext4": "e2fsprogs",
  mount: "mount",
  umount: "mount",
  losetup: "mount",
};

/**
 * Runs argv without a shell and resolves with stdout. A failure becomes a NodeError carrying
 * the tool's stderr, which is what an operator needs; a missing binary is `unavailable`.
 */
export async function run(argv: readonly string[], spawner?: Spawner): Promise<string> {
  try {
    return (await runCommand(argv, spawner ? { spawner } : {})).stdout;
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    const cmd = argv[0] ?? "";
    if (err.errno === "ENOENT") {
      throw new NodeError("unavailable", `${cmd} not found (Debian package ${packageOf[cmd] ?? "?"})`, { cause: err });
    }
    const detail = err.stderr.trim() || err.message;
    throw new NodeError("runtime_failed", `${argv.join(" ")} failed: ${detail}`, { cause: err });
  }
}
