// The coverage build: an asc transform that counts, in the plugin's own sources, every
// statement, function and branch arm (if/else, including an else the code leaves implicit,
// `?:` arms, switch cases), the way istanbul's instrumenter does for JavaScript. Each count
// is a call to one import, `pwas_coverage.<build id>`, which the mock host provides; the
// transform writes the istanbul description of what it counts (see runtime-mock/wasm/coverage-files.ts), so
// the reporter needs nothing from the compiler.
//
// `&&`/`||` operands are not branches here: wrapping an operand hides it from
// AssemblyScript's null-narrowing (`if (a != null && b != null) use(b)` would stop
// compiling), and a coverage build must compile whatever the release build compiles.
import { createHash } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import {
  ArrowKind, CommonFlags, Node, NodeKind, Parser,
  type BlockStatement, type ClassDeclaration, type DoStatement, type Expression, type ExpressionStatement, type ForOfStatement,
  type ForStatement, type FunctionDeclaration, type IfStatement, type NamespaceDeclaration, type Range, type Source, type Statement,
  type SwitchStatement, type TernaryExpression, type TryStatement, type WhileStatement,
} from "assemblyscript";
import { Transform } from "assemblyscript/transform";
import { COVERAGE_DIR_ENV, COVERAGE_IMPORT_MODULE, writeBuildMap, type BuildMap, type CounterRef, type FileDescription, type SourceRange } from "../../runtime-mock/wasm/coverage-files.js";

declare function i64_new(lo: number, hi?: number): unknown;

/** The counter function each instrumented file declares (file-local, so one per file is fine). */
const COUNTER = "__pwas_cover";

/** Which sources are the plugin's own: the project's files, not the SDK, packages or specs. */
export function isPluginSource(normalizedPath: string): boolean {
  return !normalizedPath.startsWith("~lib/") && !normalizedPath.startsWith("../") && !normalizedPath.includes("node_modules/") && !/(^|\/)__tests__\/|\.(spec|include)\.ts$/.test(normalizedPath);
}

export interface CoverageTransformOptions {
  /** Where the build map goes (`<dir>/maps/<build id>.json`). */
  outDir: string;
  /** The project directory the sources' paths are relative to (asc's baseDir by default). */
  baseDir?: string;
}

/**
 * With no options (as-pect loads transforms by path) it is active only when PWAS_COVERAGE
 * names an output folder, so an as-pect config can list it unconditionally.
 */
export default class CoverageTransform extends Transform {
  /** The last build's map; `pwas coverage` reads it to pair the module with its counters. */
  map: BuildMap | undefined;
  private readonly options: CoverageTransformOptions | undefined;

  constructor(options?: CoverageTransformOptions) {
    super();
    const outDir = options?.outDir ?? process.env[COVERAGE_DIR_ENV];
    this.options = outDir ? { ...options, outDir } : undefined;
  }

  afterParse(parser: Parser): void {
    if (!this.options) return;
    const baseDir = this.options.baseDir ?? (this as unknown as { baseDir?: string }).baseDir ?? process.cwd();
    const sources = parser.sources.filter((s) => !s.isLibrary && isPluginSource(s.normalizedPath));
    if (sources.length === 0) return;
    const buildId = `b${createHash("sha256").update(sources.map((s) => `${s.normalizedPath}\0${s.text}`).join("\0")).digest("hex").slice(0, 16)}`;
    const counters: CounterRef[] = [];
    const files: Record<string, FileDescription> = {};
    sources.forEach((source, fileIndex) => {
      const path = isAbsolute(source.normalizedPath) ? source.normalizedPath : resolve(baseDir, source.normalizedPath);
      const file = new FileInstrumenter(source, fileIndex, counters);
      files[path] = file.run();
      source.statements.unshift(counterDeclaration(buildId));
    });
    this.map = { version: 1, buildId, files, counters };
    writeBuildMap(this.options.outDir, this.map);
  }
}

/** `@external("pwas_coverage", "<build id>") declare function __pwas_cover(id: u32): void;`, parsed as asc parses it. */
function counterDeclaration(buildId: string): Statement {
  const parser = new Parser();
  parser.parseFile(`@external("${COVERAGE_IMPORT_MODULE}", "${buildId}") declare function ${COUNTER}(id: u32): void;`, `~lib/pwas-coverage/${buildId}.ts`, false);
  return parser.sources[0]!.statements[0]!;
}

class FileInstrumenter {
  private readonly description: FileDescription = { statements: [], functions: [], branches: [] };
  private readonly lineStarts: number[] = [0];

  constructor(
    private readonly source: Source,
    private readonly fileIndex: number,
    private readonly counters: CounterRef[],
  ) {
    const text = source.text;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  run(): FileDescription {
    this.statementList(this.source.statements, true);
    return this.description;
  }

  // --- positions and counters

  private position(offset: number): { line: number; column: number } {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - this.lineStarts[low]! };
  }

  private loc(range: Range): SourceRange {
    return { start: this.position(range.start), end: this.position(range.end) };
  }

  private counter(ref: { kind: "s" | "f"; index: number } | { kind: "b"; index: number; arm: number }): number {
    this.counters.push({ file: this.fileIndex, ...ref } as CounterRef);
    return this.counters.length - 1;
  }

  private count(id: number, range: Range): ExpressionStatement {
    return Node.createExpressionStatement(this.countExpression(id, range));
  }

  private countExpression(id: number, range: Range): Expression {
    return Node.createCallExpression(Node.createIdentifierExpression(COUNTER, range), null, [Node.createIntegerLiteralExpression(i64_new(id, 0) as never, range)], range);
  }

  /** `(count, expression)`: counts, then has the expression's value and type. */
  private countedExpression(id: number, expression: Expression): Expression {
    return Node.createParenthesizedExpression(Node.createCommaExpression([this.countExpression(id, expression.range), expression], expression.range), expression.range);
  }

  // --- statements

  /** Counts each executable statement of a list (a block, a case, a file's top level) and instruments inside it. */
  private statementList(statements: Statement[], topLevel = false): void {
    const out: Statement[] = [];
    for (const statement of statements) {
      let index = -1;
      if (isExecutable(statement)) {
        index = this.description.statements.length;
        const id = this.counter({ kind: "s", index });
        this.description.statements.push(this.loc(statement.range));
        out.push(this.count(id, statement.range));
      }
      out.push(this.statement(statement, topLevel, index));
    }
    statements.splice(0, statements.length, ...out);
  }

  /** A statement in a position that holds one (a loop body, an if arm): made a block so it can be counted. */
  private asBlock(statement: Statement): BlockStatement {
    const block = statement.kind === NodeKind.Block ? (statement as BlockStatement) : Node.createBlockStatement([statement], statement.range);
    this.statementList(block.statements);
    return block;
  }

  private statement(statement: Statement, topLevel: boolean, statementIndex: number): Statement {
    switch (statement.kind) {
      case NodeKind.Block:
        this.statementList((statement as BlockStatement).statements);
        break;
      case NodeKind.If:
        this.ifStatement(statement as IfStatement, statementIndex);
        break;
      case NodeKind.For: {
        const s = statement as ForStatement;
        if (s.initializer) this.expressionsIn(s.initializer);
        if (s.condition) s.condition = this.expression(s.condition);
        if (s.incrementor) s.incrementor = this.expression(s.incrementor);
        s.body = this.asBlock(s.body);
        break;
      }
      case NodeKind.ForOf: {
        const s = statement as ForOfStatement;
        s.body = this.asBlock(s.body);
        break;
      }
      case NodeKind.While: {
        const s = statement as WhileStatement;
        s.condition = this.expression(s.condition);
        s.body = this.asBlock(s.body);
        break;
      }
      case NodeKind.Do: {
        const s = statement as DoStatement;
        s.body = this.asBlock(s.body);
        s.condition = this.expression(s.condition);
        break;
      }
      case NodeKind.Switch:
        this.switchStatement(statement as SwitchStatement);
        break;
      case NodeKind.Try: {
        const s = statement as TryStatement;
        this.statementList(s.bodyStatements);
        if (s.catchStatements) this.statementList(s.catchStatements);
        if (s.finallyStatements) this.statementList(s.finallyStatements);
        break;
      }
      case NodeKind.FunctionDeclaration:
      case NodeKind.MethodDeclaration:
        this.functionDeclaration(statement as FunctionDeclaration, "");
        break;
      case NodeKind.ClassDeclaration:
        this.classDeclaration(statement as ClassDeclaration);
        break;
      case NodeKind.NamespaceDeclaration:
        for (const member of (statement as NamespaceDeclaration).members) this.declaration(member, `${(statement as NamespaceDeclaration).name.text}.`);
        break;
      case NodeKind.ExportDefault:
        this.declaration((statement as unknown as { declaration: Statement }).declaration, "");
        break;
      default:
        if (!topLevel || isExecutable(statement)) this.expressionsIn(statement);
    }
    return statement;
  }

  /** Declarations inside a namespace or class: only their functions are instrumented. */
  private declaration(statement: Statement, prefix: string): void {
    if (statement.kind === NodeKind.FunctionDeclaration || statement.kind === NodeKind.MethodDeclaration) this.functionDeclaration(statement as FunctionDeclaration, prefix);
    else if (statement.kind === NodeKind.ClassDeclaration) this.classDeclaration(statement as ClassDeclaration, prefix);
    else if (statement.kind === NodeKind.NamespaceDeclaration) {
      const ns = statement as NamespaceDeclaration;
      for (const member of ns.members) this.declaration(member, `${prefix}${ns.name.text}.`);
    }
  }

  private classDeclaration(declaration: ClassDeclaration, prefix = ""): void {
    for (const member of declaration.members) {
      if (member.kind === NodeKind.MethodDeclaration) this.functionDeclaration(member as unknown as FunctionDeclaration, `${prefix}${declaration.name.text}#`);
    }
  }

  private ifStatement(statement: IfStatement, statementIndex: number): void {
    statement.condition = this.expression(statement.condition);
    const branch = this.description.branches.length;
    const ifTrue = this.counter({ kind: "b", index: branch, arm: 0 });
    // An `if` without `else` still has two arms. Its else is not written in (an added else
    // block changes AssemblyScript's flow analysis): it was taken whenever the if ran and
    // the then-arm did not.
    const elseRange = statement.ifFalse?.range ?? statement.range.atEnd;
    this.description.branches.push({
      type: "if", loc: this.loc(statement.range), locations: [this.loc(statement.ifTrue.range), this.loc(elseRange)],
      ...(statement.ifFalse ? {} : { implicitElseOf: statementIndex }),
    });
    statement.ifTrue = this.counted(statement.ifTrue, ifTrue);
    if (statement.ifFalse) statement.ifFalse = this.counted(statement.ifFalse, this.counter({ kind: "b", index: branch, arm: 1 }));
  }

  /** An arm with its counter first; a lone statement becomes a block holding both. */
  private counted(arm: Statement, id: number): BlockStatement {
    const block = this.asBlock(arm);
    block.statements.unshift(this.count(id, arm.range));
    return block;
  }

  private switchStatement(statement: SwitchStatement): void {
    statement.condition = this.expression(statement.condition);
    const branch = this.description.branches.length;
    this.description.branches.push({ type: "switch", loc: this.loc(statement.range), locations: statement.cases.map((c) => this.loc(c.range)) });
    statement.cases.forEach((switchCase, arm) => {
      const id = this.counter({ kind: "b", index: branch, arm });
      if (switchCase.label) switchCase.label = this.expression(switchCase.label);
      this.statementList(switchCase.statements);
      switchCase.statements.unshift(this.count(id, switchCase.range));
    });
  }

  private functionDeclaration(declaration: FunctionDeclaration, prefix: string): void {
    const body = declaration.body;
    if (!body || declaration.flags & CommonFlags.Declare) return;
    const index = this.description.functions.length;
    const name = declaration.name.text ? `${prefix}${declaration.name.text}` : `(anonymous_${index})`;
    this.description.functions.push({ name, decl: this.loc(declaration.name.range), loc: this.loc(declaration.range) });
    const id = this.counter({ kind: "f", index });
    if (declaration.arrowKind !== ArrowKind.None && body.kind === NodeKind.Expression) {
      // `(x) => x + 1`: the body is the returned expression; count it in place.
      const statement = body as ExpressionStatement;
      statement.expression = this.countedExpression(id, this.expression(statement.expression));
      return;
    }
    const block = body.kind === NodeKind.Block ? (body as BlockStatement) : Node.createBlockStatement([body], body.range);
    this.statementList(block.statements);
    // A derived constructor's super() call stays first.
    const first = block.statements.findIndex((s) => !isCounter(s));
    const callsSuper = first >= 0 && isSuperCall(block.statements[first]!);
    block.statements.splice(callsSuper ? first + 1 : 0, 0, this.count(id, declaration.range));
    declaration.body = block;
  }

  // --- expressions: `?:` arms and function expressions inside them

  private expressionsIn(node: Node): void {
    for (const key of Object.keys(node)) {
      if (key === "range") continue;
      const value = (node as unknown as Record<string, unknown>)[key];
      if (isExpression(value)) (node as unknown as Record<string, unknown>)[key] = this.expression(value);
      else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (isExpression(item)) value[i] = this.expression(item);
          else if (isNode(item) && item.kind === NodeKind.VariableDeclaration) this.expressionsIn(item);
        }
      }
    }
  }

  private expression(expression: Expression): Expression {
    if (expression.kind === NodeKind.Function) {
      this.functionDeclaration((expression as unknown as { declaration: FunctionDeclaration }).declaration, "");
      return expression;
    }
    this.expressionsIn(expression);
    if (expression.kind !== NodeKind.Ternary) return expression;
    const ternary = expression as TernaryExpression;
    const branch = this.description.branches.length;
    this.description.branches.push({ type: "cond-expr", loc: this.loc(ternary.range), locations: [this.loc(ternary.ifThen.range), this.loc(ternary.ifElse.range)] });
    ternary.ifThen = this.countedExpression(this.counter({ kind: "b", index: branch, arm: 0 }), ternary.ifThen);
    ternary.ifElse = this.countedExpression(this.counter({ kind: "b", index: branch, arm: 1 }), ternary.ifElse);
    return ternary;
  }
}

/** What istanbul counts as a statement: what runs, not what declares. */
function isExecutable(statement: Statement): boolean {
  switch (statement.kind) {
    case NodeKind.Expression:
    case NodeKind.Return:
    case NodeKind.Throw:
    case NodeKind.Break:
    case NodeKind.Continue:
    case NodeKind.If:
    case NodeKind.For:
    case NodeKind.ForOf:
    case NodeKind.While:
    case NodeKind.Do:
    case NodeKind.Switch:
    case NodeKind.Try:
    case NodeKind.Void:
      return true;
    case NodeKind.Variable:
      // `declare const x: i32` and `@external` globals have nothing to run.
      return !((statement as unknown as { flags: number }).flags & CommonFlags.Declare);
    default:
      return false;
  }
}

const isNode = (value: unknown): value is Node => typeof value === "object" && value !== null && typeof (value as Node).kind === "number" && "range" in value;

/** Expression kinds sit between Identifier and UnaryPrefix (plus Compiled) in NodeKind. */
const isExpression = (value: unknown): value is Expression => isNode(value) && value.kind >= NodeKind.Identifier && value.kind <= NodeKind.Compiled;

function isCounter(statement: Statement): boolean {
  if (statement.kind !== NodeKind.Expression) return false;
  const call = (statement as ExpressionStatement).expression as unknown as { kind: number; expression?: { kind: number; text?: string } };
  return call.kind === NodeKind.Call && call.expression?.text === COUNTER;
}

function isSuperCall(statement: Statement): boolean {
  if (statement.kind !== NodeKind.Expression) return false;
  const call = (statement as ExpressionStatement).expression as unknown as { kind: number; expression?: { kind: number } };
  return call.kind === NodeKind.Call && call.expression?.kind === NodeKind.Super;
}
