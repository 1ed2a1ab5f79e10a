// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile text is full of ${VAR} on purpose
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDockerfile, shellJoin, shellQuote } from "../src/index.js";
import { bodySteps } from "./helpers/dockerfile-steps.js";

describe("parseDockerfile: lines", () => {
  it("comments, blank lines and case-insensitive keywords", () => {
    const { spec } = parseDockerfile("\n# leading comment\n  from ubuntu\n\n   # indented comment\n\tRun echo one\nwOrKdIr /w\n");
    assert.deepEqual(
      bodySteps(spec).map((s) => [s.type, ...s.args]),
      [
        ["RUN", "echo one"],
        ["WORKDIR", "/w"],
      ],
    );
  });

  it("continuations drop comment and blank lines inside them, and accept trailing spaces after the escape", () => {
    const { spec } = parseDockerfile(
      "FROM ubuntu\nRUN apt-get update \\  \n# why we install curl\n\n    && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\nRUN done",
    );
    assert.deepEqual(
      bodySteps(spec).map((s) => s.args[0]),
      ["apt-get update     && apt-get install -y curl     && rm -rf /var/lib/apt/lists/*", "done"],
    );
  });

  it("a continuation on the last line ends the instruction", () => {
    assert.equal(bodySteps(parseDockerfile("FROM ubuntu\nRUN echo \\").spec)[0]?.args[0], "echo");
  });

  it("CRLF line endings and a byte-order mark", () => {
    const { spec } = parseDockerfile("\uFEFFFROM ubuntu\r\nRUN a \\\r\n  b\r\nENV X=1\r\n");
    assert.deepEqual(
      bodySteps(spec).map((s) => s.args),
      [["a   b"], ["X", "1"]],
    );
  });

  it("# escape=` makes the backtick the continuation and escape character, and backslashes literal", () => {
    const text =
      "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n    && echo done\nENV A=`$HOME B=c:\\x";
    const { spec } = parseDockerfile(text);
    assert.deepEqual(
      bodySteps(spec).map((s) => s.args),
      [["testfile.txt", "c:\\", "", ""], ["dir c:\\     && echo done"], ["A", "$HOME", "B", "c:\\x"]],
    );
  });

  it("a directive after the first line of other text is only a comment", () => {
    const { spec } = parseDockerfile("# a comment\n# escape=`\nFROM ubuntu\nRUN a \\\n  b");
    assert.equal(bodySteps(spec)[0]?.args[0], "a   b");
  });

  it("an unknown directive is a comment, and ends the directives", () => {
    const { spec, warnings } = parseDockerfile("# foo=bar\n# escape=`\nFROM ubuntu\nRUN a \\\n  b");
    assert.equal(bodySteps(spec)[0]?.args[0], "a   b");
    assert.deepEqual(warnings, []);
  });

  it("the syntax directive is reported as ignored", () => {
    assert.deepEqual(parseDockerfile("# syntax=docker/dockerfile:1.7\n# CHECK=skip=all\nFROM ubuntu").warnings, [
      "Dockerfile:1: # syntax= directive ignored",
      "Dockerfile:2: # check= directive ignored",
    ]);
  });
});

describe("parseDockerfile: variable substitution", () => {
  const env = (line: string, options: Parameters<typeof parseDockerfile>[1] = {}) =>
    bodySteps(parseDockerfile(`FROM ubuntu\nARG SET=value\nARG EMPTY=\nARG UNSET\n${line}`, options).spec).at(-1)?.args;
  const cases: Array<[string, string]> = [
    ["$SET", "value"],
    ["${SET}", "value"],
    ["${SET}suffix", "valuesuffix"],
    ["$SET.suffix", "value.suffix"],
    ["${UNSET}", ""],
    ["${EMPTY:-default}", "default"],
    ["${EMPTY-default}", ""],
    ["${UNSET-default}", "default"],
    ["${UNSET:-default}", "default"],
    ["${NEVER_DECLARED:-default}", "default"],
    ["${SET:-default}", "value"],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET:+alt}", ""],
    ["${UNSET:-$SET}", "value"],
    ["${UNSET:-${EMPTY:-nested}}", "nested"],
    ["'$SET'", "$SET"],
    ['"$SET and ${SET}"', "value and value"],
    ['"\\$SET \\" \\\\ \\n"', '$SET " \\ \\n'],
    ["\\$SET", "$SET"],
    ["$", "$"],
    ["$1", "$1"],
    ["a$", "a$"],
    ['"${SET:?must be set}"', "value"],
  ];
  for (const [word, expected] of cases) {
    it(`X=${word}`, () => assert.deepEqual(env(`ENV X=${word}`), ["X", expected]));
  }

  it("substitutes in COPY sources, destinations and flags, and in WORKDIR and USER", () => {
    const { spec } = parseDockerfile(
      "FROM ubuntu\nARG APP=web\nARG OWNER=1000\nARG MODE=640\nCOPY --chown=${OWNER}:${OWNER} --chmod=$MODE ${APP}/ /srv/$APP/\nWORKDIR /srv/$APP\nUSER $OWNER",
    );
    assert.deepEqual(
      bodySteps(spec)
        .slice(3)
        .map((s) => s.args),
      [["web/", "/srv/web/", "1000:1000", "0640"], ["/srv/web"], ["1000"]],
    );
  });

  it("does not substitute in RUN, CMD and ENTRYPOINT", () => {
    const { spec } = parseDockerfile("FROM ubuntu\nARG A=1\nRUN echo $A ${UNKNOWN}\nCMD echo $A");
    assert.equal(bodySteps(spec)[1]?.args[0], "echo $A ${UNKNOWN}");
    assert.equal(spec.startCmd, "echo $A");
  });
});

describe("shellQuote and shellJoin", () => {
  it("leave safe words alone and single-quote the rest", () => {
    assert.equal(shellJoin(["ls", "-la", "/tmp/a_b-c.d", "k=v", "a@b:c", "50%", "+x,y"]), "ls -la /tmp/a_b-c.d k=v a@b:c 50% +x,y");
    assert.equal(shellQuote(""), "''");
    assert.equal(shellQuote("a b"), "'a b'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote("$(rm -rf /)"), "'$(rm -rf /)'");
    assert.equal(shellQuote("a\nb"), "'a\nb'");
    assert.equal(shellQuote("*"), "'*'");
  });
});
