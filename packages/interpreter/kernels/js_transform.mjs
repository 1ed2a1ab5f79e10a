// Cells with `import` declarations or top-level `await` cannot run as a plain script. They are
// rewritten, as Node's REPL does, into one async function whose top-level names are hoisted as
// `var`s of the kernel's global scope (so they persist between cells like any other), with
// imports turned into `await import()` and the last expression returned as the cell's value.
import { parse } from "acorn";

const FUNCTION = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);

/** Whether `node` awaits outside any function of its own (a top-level await or for await). */
function awaitsAtTopLevel(node) {
  if (node === null || typeof node !== "object") return false;
  if (Array.isArray(node)) return node.some(awaitsAtTopLevel);
  if (FUNCTION.has(node.type)) return false;
  if (node.type === "AwaitExpression" || (node.type === "ForOfStatement" && node.await)) return true;
  for (const key of Object.keys(node)) {
    if (key === "type" || key === "start" || key === "end") continue;
    const child = node[key];
    if (child !== null && typeof child === "object" && awaitsAtTopLevel(child)) return true;
  }
  return false;
}

/** The names a binding pattern declares. */
function boundNames(pattern, out = []) {
  switch (pattern.type) {
    case "Identifier":
      out.push(pattern.name);
      break;
    case "ObjectPattern":
      for (const p of pattern.properties) boundNames(p.type === "RestElement" ? p.argument : p.value, out);
      break;
    case "ArrayPattern":
      for (const p of pattern.elements) if (p) boundNames(p, out);
      break;
    case "RestElement":
      boundNames(pattern.argument, out);
      break;
    case "AssignmentPattern":
      boundNames(pattern.left, out);
      break;
  }
  return out;
}

/**
 * The cell rewritten to run as a script, or undefined when it needs no rewriting (no import
 * declaration, no top-level await) or does not parse as a module (left to the script compiler,
 * which reports the error).
 */
export function toAsyncCell(code) {
  let program;
  try {
    program = parse(code, { ecmaVersion: "latest", sourceType: "module", allowAwaitOutsideFunction: true, allowReturnOutsideFunction: true });
  } catch {
    return undefined;
  }
  const hasImport = program.body.some((s) => s.type === "ImportDeclaration");
  if (!hasImport && !awaitsAtTopLevel(program.body)) return undefined;

  const src = (node) => code.slice(node.start, node.end);
  const hoisted = new Set();
  const functions = [];
  const body = [];
  program.body.forEach((statement, index) => {
    const last = index === program.body.length - 1;
    switch (statement.type) {
      case "ImportDeclaration": {
        const module = `__cove_import_${index}`;
        body.push(`const ${module} = await import(${src(statement.source)});`);
        for (const spec of statement.specifiers) {
          hoisted.add(spec.local.name);
          const from =
            spec.type === "ImportDefaultSpecifier"
              ? `${module}.default`
              : spec.type === "ImportNamespaceSpecifier"
                ? module
                : `${module}[${JSON.stringify(spec.imported.type === "Identifier" ? spec.imported.name : spec.imported.value)}]`;
          body.push(`${spec.local.name} = ${from};`);
        }
        break;
      }
      case "VariableDeclaration":
        for (const decl of statement.declarations) {
          for (const name of boundNames(decl.id)) hoisted.add(name);
          if (decl.init) body.push(`(${src(decl.id)} = ${src(decl.init)});`);
        }
        break;
      case "FunctionDeclaration":
        // Declarations are hoisted within the cell: assigned before anything else runs.
        hoisted.add(statement.id.name);
        functions.push(`${statement.id.name} = ${src(statement)};`);
        break;
      case "ClassDeclaration":
        hoisted.add(statement.id.name);
        body.push(`${statement.id.name} = ${src(statement)};`);
        break;
      case "ExpressionStatement":
        body.push(last ? `return (${src(statement.expression)});` : src(statement));
        break;
      default:
        body.push(src(statement));
    }
  });
  const prelude = hoisted.size > 0 ? `var ${[...hoisted].join(", ")};\n` : "";
  return `${prelude}(async () => {\n${[...functions, ...body].join("\n")}\n})()`;
}
