// Removing a node's data dir after a test. A plain recursive rm would walk into whatever is
// still mounted below it: a live lxcfs answers ENOSYS (seen in CI), and a leftover bind of a
// template would lose its files. So: stop the dir's own lxcfs, detach every mount below the
// dir, then remove it.
import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import { isAlive, waitGone } from "./processes.js";

const run = promisify(execFile);

/** Mount points at or below `dir`, deepest first (from our own mount table). */
function mountsBelow(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => unescape(line.split(" ")[4] ?? ""))
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * A node that did not stop in order (SIGKILL) leaves its lxcfs running on `<data>/lxcfs/mnt`
 * (lxcfs outlives the node on purpose): stop it by the pid in its pidfile, once its command
 * line shows it serves this data dir.
 */
export async function stopLeftoverLxcfs(dataDir: string): Promise<void> {
  const mountDir = `${dataDir}/lxcfs/mnt`;
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(`${dataDir}/lxcfs/lxcfs.pid`, "utf8").trim(), 10);
    if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(mountDir)) return;
  } catch {
    return; // no pidfile, or that process is gone
  }
  // Said, so a test that leaves one behind shows up in the output.
  console.log(`# ${dataDir}: stopping a leftover lxcfs (pid ${pid})`);
  process.kill(pid, "SIGTERM");
  if (!(await waitGone(pid, 5_000)) && isAlive(pid)) process.kill(pid, "SIGKILL");
  await waitGone(pid, 5_000);
}

/** Stops the dir's lxcfs, lazily unmounts everything below it, and removes it. */
export async function removeDataDir(dataDir: string): Promise<void> {
  await stopLeftoverLxcfs(dataDir);
  for (const point of mountsBelow(dataDir)) {
    console.log(`# ${dataDir}: detaching a leftover mount ${point}`);
    await run("umount", ["-l", point]).catch(() => undefined);
  }
  const left = mountsBelow(dataDir);
  if (left.length > 0) throw new Error(`cannot remove ${dataDir}: still mounted below it: ${left.join(", ")}`);
  rmSync(dataDir, { recursive: true, force: true });
}
