import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NotEnoughSpaceError } from "e2b";
import { connectSdk, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

/** A 512 KiB tmpfs gives a real ENOSPC; mounting needs root (CAP_SYS_ADMIN). */
function mountSmallTmpfs(dir: string): string | undefined {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", dir], { stdio: "pipe" });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here: ${(err as Error).message.split("\n")[0]}`;
  }
}

describe("envd /files on a full disk", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  let dir: string;
  let skipReason: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "cove-enospc-"));
    skipReason = mountSmallTmpfs(dir);
    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });
  after(async () => {
    await sdk?.close();
    await envd?.close();
    if (!skipReason) execFileSync("umount", [dir]);
    await rm(dir, { recursive: true, force: true });
  });

  it("answers 507 (NotEnoughSpaceError), keeps the old file and leaves no temp file", async (t) => {
    if (skipReason) return t.skip(skipReason);
    const path = join(dir, "full.bin");
    await writeFile(path, "old content");
    const tooBig = new Uint8Array(1024 * 1024).fill(7);
    await assert.rejects(sdk.sandbox.files.write(path, tooBig.buffer), NotEnoughSpaceError);
    await assert.rejects(sdk.sandbox.files.write(path, new Blob([tooBig]), { useOctetStream: true }), NotEnoughSpaceError);
    assert.equal(await readFile(path, "utf8"), "old content");
    assert.deepEqual(await readdir(dir), ["full.bin"]);
  });
});
