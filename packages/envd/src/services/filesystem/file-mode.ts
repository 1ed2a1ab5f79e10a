import { constants } from "node:fs";

// Node's typings lack the set-id and sticky bits; their values are fixed by POSIX.
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

/**
 * Formats a POSIX st_mode the way Go's os.FileMode.String() does after
 * os.Lstat, because that string is what upstream envd sends as
 * EntryInfo.permissions: type letters in Go's bit order ("dalTLDpSugct?"),
 * "-" when there are none, then rwxrwxrwx. Examples: "-rw-r--r--",
 * "drwxr-xr-x", "Lrwxrwxrwx", "dtrwxrwxrwx" (/tmp), "Dcrw-rw-rw-" (/dev/null).
 */
export function fileModeString(mode: number): string {
  const type = mode & constants.S_IFMT;
  let letters = "";
  if (type === constants.S_IFDIR) letters += "d";
  if (type === constants.S_IFLNK) letters += "L";
  if (type === constants.S_IFBLK || type === constants.S_IFCHR) letters += "D";
  if (type === constants.S_IFIFO) letters += "p";
  if (type === constants.S_IFSOCK) letters += "S";
  if (mode & S_ISUID) letters += "u";
  if (mode & S_ISGID) letters += "g";
  if (type === constants.S_IFCHR) letters += "c";
  if (mode & S_ISVTX) letters += "t";
  const rwx = "rwxrwxrwx";
  let perms = "";
  for (let i = 0; i < 9; i++) perms += mode & (1 << (8 - i)) ? rwx[i] : "-";
  return (letters || "-") + perms;
}

/** Permission bits only (Go's FileMode.Perm()), e.g. 0o644 → 420. */
export function permissionBits(mode: number): number {
  return mode & 0o777;
}
