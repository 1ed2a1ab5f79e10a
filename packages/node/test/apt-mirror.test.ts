import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findDebianMirror } from "../src/templates/apt-mirror.js";

describe("findDebianMirror", () => {
  const cases: Array<[string, Array<{ name: string; text: string }>, string | undefined]> = [
    [
      "deb822 with security stanza first",
      [
        {
          name: "/etc/apt/sources.list.d/debian.sources",
          text: "Types: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\n\nTypes: deb deb-src\n# a comment\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n",
        },
      ],
      "http://mirror.example/debian",
    ],
    [
      "one-line list with options and comments",
      [
        {
          name: "/etc/apt/sources.list",
          text: "# deb http://old.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] https://m.example/debian bookworm main\n",
        },
      ],
      "https://m.example/debian",
    ],
    [
      "disabled stanza and other suites are skipped",
      [
        { name: "a.sources", text: "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n" },
        { name: "b.list", text: "deb http://x.example/debian trixie main\n" },
      ],
      undefined,
    ],
    ["no files", [], undefined],
  ];
  for (const [name, files, expected] of cases) {
    it(name, () => assert.equal(findDebianMirror(files, "bookworm"), expected));
  }
});
