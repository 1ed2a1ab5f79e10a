import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Finds the Debian mirror this machine's apt already uses (so template builds
 * reach the same, allowed, mirror), from one-line `.list` entries and deb822
 * `.sources` stanzas. Returns the first `deb` URI that serves `suite` from
 * the main archive (not the security archive), or undefined.
 */
export function findDebianMirror(files: Array<{ name: string; text: string }>, suite: string): string | undefined {
  for (const { name, text } of files) {
    const entries = name.endsWith(".sources") ? parseDeb822(text) : parseOneLine(text);
    for (const entry of entries) {
      if (!entry.types.includes("deb") || !entry.suites.includes(suite)) continue;
      const uri = entry.uris.find((u) => /^https?:\/\//.test(u) && !/security/.test(u));
      if (uri) return uri.replace(/\/+$/, "");
    }
  }
  return undefined;
}

/** Reads /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources}. */
export function readAptSources(etc = "/etc/apt"): Array<{ name: string; text: string }> {
  const files: Array<{ name: string; text: string }> = [];
  const read = (path: string) => {
    try {
      files.push({ name: path, text: readFileSync(path, "utf8") });
    } catch {}
  };
  read(join(etc, "sources.list"));
  let names: string[] = [];
  try {
    names = readdirSync(join(etc, "sources.list.d")).sort();
  } catch {}
  for (const name of names) if (name.endsWith(".list") || name.endsWith(".sources")) read(join(etc, "sources.list.d", name));
  return files;
}

interface SourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
}

function parseOneLine(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    // deb [options] uri suite [components...]
    const words = line
      .replace(/\[[^\]]*\]/, " ")
      .split(/\s+/)
      .filter(Boolean);
    const [type, uri, suite] = words;
    if (type && uri && suite) entries.push({ types: [type], uris: [uri], suites: [suite] });
  }
  return entries;
}

function parseDeb822(text: string): SourceEntry[] {
  const entries: SourceEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const raw of stanza.split("\n")) {
      if (raw.trimStart().startsWith("#")) continue;
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (match) fields.set(match[1]!.toLowerCase(), match[2]!);
    }
    if (fields.get("enabled")?.toLowerCase() === "no") continue;
    const list = (key: string) => (fields.get(key) ?? "").split(/\s+/).filter(Boolean);
    entries.push({ types: list("types"), uris: list("uris"), suites: list("suites") });
  }
  return entries;
}
