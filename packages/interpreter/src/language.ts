import { InterpreterError } from "./errors.js";

export const LANGUAGES = ["python", "javascript", "typescript", "bash"] as const;
export type Language = (typeof LANGUAGES)[number];

const ALIASES: Readonly<Record<string, Language>> = { js: "javascript", ts: "typescript", sh: "bash" };

/** E2B's normalisation (empty → python, js → javascript, ts → typescript), then a check against what Cove runs. */
export function normalizeLanguage(input: string | undefined | null): Language {
  const name = (input ?? "").trim().toLowerCase();
  if (name === "") return "python";
  const language = ALIASES[name] ?? name;
  if ((LANGUAGES as readonly string[]).includes(language)) return language as Language;
  throw new InterpreterError("invalid_argument", `Language '${input}' is not supported (supported: ${LANGUAGES.join(", ")})`);
}
