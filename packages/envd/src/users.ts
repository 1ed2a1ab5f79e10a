import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { EnvdError } from "./errors.js";

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
  /** Supplementary group ids from /etc/group, including the primary gid. */
  groups: number[];
  home: string;
  shell: string;
}

export interface UserDb {
  /** Resolves a user by name; throws EnvdError("invalid_argument") when unknown (the SDK shows InvalidArgumentError). */
  lookup(name: string): Promise<OsUser>;
  /** Name for a uid, or the number as text when unknown (for EntryInfo.owner). */
  userName(uid: number): Promise<string>;
  /** Name for a gid, or the number as text when unknown (for EntryInfo.group). */
  groupName(gid: number): Promise<string>;
}

interface Parsed {
  users: Map<string, OsUser>;
  uidNames: Map<number, string>;
  gidNames: Map<number, string>;
}

/**
 * Reads users and groups from <root>/etc/passwd and <root>/etc/group with node:fs
 * (no NSS, so it works in any root filesystem). Files are re-read when their
 * mtime changes, so users added after start (useradd) are found.
 */
export function createUserDb(root: string): UserDb {
  const passwdPath = join(root, "etc/passwd");
  const groupPath = join(root, "etc/group");
  let cache: { key: string; parsed: Parsed } | undefined;

  // Hot path (every request resolves a user): a synchronous stat of two small
  // files costs microseconds, while re-reading them through the libuv pool
  // costs most of a millisecond here. Re-read only when they changed.
  async function load(): Promise<Parsed> {
    const key = `${fileKey(passwdPath)}|${fileKey(groupPath)}`;
    if (cache?.key === key) return cache.parsed;
    const [passwd, group] = await Promise.all([readText(passwdPath), readText(groupPath)]);
    const parsed = parse(passwd, group);
    cache = { key, parsed };
    return parsed;
  }

  return {
    async lookup(name) {
      const user = (await load()).users.get(name);
      // E2B's envd answers an unknown user as unauthenticated (401 on HTTP), and so its SDK's AuthenticationError.
      if (!user) throw new EnvdError("unauthenticated", `invalid username: '${name}'`);
      return user;
    },
    async userName(uid) {
      return (await load()).uidNames.get(uid) ?? String(uid);
    },
    async groupName(gid) {
      return (await load()).gidNames.get(gid) ?? String(gid);
    },
  };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return "";
  }
}

/** Identity of a file's current content: inode, size and change time (missing → "-"). */
function fileKey(path: string): string {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return "-";
  }
}

function parse(passwd: string, group: string): Parsed {
  const gidNames = new Map<number, string>();
  const members = new Map<string, number[]>();
  for (const line of group.split("\n")) {
    const [name, , gidText, memberText] = line.split(":");
    const gid = Number(gidText);
    if (!name || !Number.isInteger(gid)) continue;
    if (!gidNames.has(gid)) gidNames.set(gid, name);
    for (const member of (memberText ?? "").split(",")) {
      if (!member) continue;
      const list = members.get(member) ?? [];
      list.push(gid);
      members.set(member, list);
    }
  }
  const users = new Map<string, OsUser>();
  const uidNames = new Map<number, string>();
  for (const line of passwd.split("\n")) {
    const [name, , uidText, gidText, , home, shell] = line.split(":");
    const uid = Number(uidText);
    const gid = Number(gidText);
    if (!name || !Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    const groups = [...new Set([gid, ...(members.get(name) ?? [])])];
    users.set(name, { name, uid, gid, groups, home: home || "/", shell: shell || "/bin/sh" });
    if (!uidNames.has(uid)) uidNames.set(uid, name);
  }
  return { users, uidNames, gidNames };
}
