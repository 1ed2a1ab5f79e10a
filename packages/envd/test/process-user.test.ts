import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { AuthenticationError, CommandExitError } from "e2b";
import { connectSdk, ensureTestUser, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

function hostId(...args: string[]): string {
  return execFileSync("id", args, { encoding: "utf8" }).trim();
}

describe("processes run as the requested OS user", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  // A supplementary group only `user` belongs to, so the test sees whether supplementary groups are set.
  const group = `covetest${process.pid}`;
  let groupId: string;
  before(async () => {
    ensureTestUser();
    execFileSync("groupadd", [group]);
    execFileSync("usermod", ["--append", "--groups", group, "user"]);
    groupId = execFileSync("getent", ["group", group], { encoding: "utf8" }).split(":")[2]!;
    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });
  after(async () => {
    await sdk?.close();
    await envd?.close();
    execFileSync("groupdel", [group], { stdio: "ignore" });
  });

  it("runs as root by default with root's groups and HOME", async () => {
    const result = await sdk.sandbox.commands.run('whoami; id -G; echo "$HOME"');
    const [name, groups, home] = result.stdout.trim().split("\n");
    assert.equal(name, "root");
    assert.ok(groups!.split(" ").includes("0"));
    assert.equal(home, "/root");
  });

  it("runs as `user` with its uid, gid and supplementary groups, and none of root's", async () => {
    const result = await sdk.sandbox.commands.run('whoami; id -u; id -g; id -G; echo "$HOME|$USER|$LOGNAME"; pwd', { user: "user" });
    const [name, uid, gid, groups, env, cwd] = result.stdout.trim().split("\n");
    assert.equal(name, "user");
    assert.equal(uid, hostId("-u", "user"));
    assert.equal(gid, hostId("-g", "user"));
    const groupList = groups!.split(" ");
    assert.ok(groupList.includes(groupId), `id -G (${groups}) includes ${group} (${groupId})`);
    assert.ok(groupList.includes(gid!), "id -G includes the primary group");
    assert.ok(!groupList.includes("0"), `id -G (${groups}) must not include root's group 0`);
    assert.equal(env, "/home/user|user|user");
    assert.equal(cwd, "/home/user");
  });

  it("cannot do what only root can", async () => {
    await assert.rejects(sdk.sandbox.commands.run("cat /etc/shadow", { user: "user" }), (err: unknown) => {
      assert.ok(err instanceof CommandExitError);
      assert.match(err.stderr, /Permission denied/);
      return true;
    });
  });

  it("rejects an unknown user with InvalidArgumentError", async () => {
    // As E2B's envd: unauthenticated "invalid username: '…'", the SDK's AuthenticationError.
    await assert.rejects(sdk.sandbox.commands.run("true", { user: "no-such-user" }), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError, String(err));
      assert.match(err.message, /invalid username: 'no-such-user'/);
      return true;
    });
  });
});
