/** The pinned node package's version, binary and C header folder (see pinned-node.mjs). */
export function pinnedNode(): { version: string; bin: string; include: string };
