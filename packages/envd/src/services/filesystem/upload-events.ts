import { EventType } from "@cove/protocol/filesystem";
import { parseUploadTempName } from "../../upload-temp.js";
import type { RawWatchEvent } from "./watch-helper.js";

/** Temp renames remembered while waiting for their target's CREATE; a lost pair (queue overflow) cannot grow this beyond it. */
const MAX_PENDING = 1024;

/**
 * Rewrites what inotify reports for an upload (create, write, chmod and
 * rename of a hidden temp name, then CREATE of the target when the rename
 * lands) into what E2B's envd reports for its in-place write: CREATE (new
 * file only) and WRITE of the target. Events on temp names never pass. The
 * kernel queues a rename's old-name and new-name events back to back, so the
 * target's CREATE follows its temp's RENAME; a CREATE of that name without
 * such a RENAME is a plain create and passes unchanged. One filter per watch.
 */
export function createUploadEventFilter(): (event: RawWatchEvent) => RawWatchEvent[] {
  const pending = new Map<string, boolean>();
  return (event) => {
    const slash = event.name.lastIndexOf("/");
    const dir = slash === -1 ? "" : event.name.slice(0, slash + 1);
    const temp = parseUploadTempName(event.name.slice(slash + 1));
    if (temp) {
      if (event.type === EventType.RENAME) {
        pending.delete(dir + temp.target); // keeps insertion order = age for the cap below
        pending.set(dir + temp.target, temp.replaces);
        if (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value!);
      }
      return [];
    }
    const replaces = event.type === EventType.CREATE ? pending.get(event.name) : undefined;
    if (replaces === undefined) return [event];
    pending.delete(event.name);
    const write = { type: EventType.WRITE, name: event.name };
    return replaces ? [write] : [event, write];
  };
}
