import { execFile } from "node:child_process";
import { NodeError } from "../errors.js";

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
export function run(argv: readonly string[]): Promise<string> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new NodeError("invalid_argument", "empty command");
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        return reject(new NodeError("unavailable", `${cmd} not found (Debian package ${packageOf[cmd] ?? "?"})`, { cause: err }));
      }
      const detail = stderr.trim() || err.message;
      reject(new NodeError("runtime_failed", `${[cmd, ...args].join(" ")} failed: ${detail}`, { cause: err }));
    });
  });
}
