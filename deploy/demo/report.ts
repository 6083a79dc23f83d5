/**
 * Console output of the demo: setup lines, numbered steps made of PASS/FAIL checks, and the
 * summary. Tokens are shown only through `abbreviateToken`.
 */
import { describe } from './processes.js';

const INDENT = '      ';

/** Shows only the first 12 characters of a token, which are part of its header, so that the output never contains a usable token. */
export function abbreviateToken(token: string): string {
  return `${token.slice(0, 12)}...`;
}

/** Quotes command-line arguments that contain spaces or quotes, so that the printed line can be pasted into a shell. */
export function formatCommand(args: readonly string[]): string {
  return args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(' ');
}

export class Step {
  readonly number: number;
  readonly title: string;
  passed = true;
  /** The step's key result, repeated in the summary, such as "401 after 12 ms". */
  headline: string | undefined;

  constructor(number: number, title: string) {
    this.number = number;
    this.title = title;
  }

  /** Prints one check as PASS or FAIL and returns `passed`. */
  check(passed: boolean, text: string): boolean {
    if (!passed) this.passed = false;
    console.log(`${INDENT}${passed ? 'PASS' : 'FAIL'}  ${text}`);
    return passed;
  }

  note(text: string): void {
    console.log(`${INDENT}${text}`);
  }

  /** Prints a command line as a shell would show it, then its output. */
  command(args: readonly string[], output: string, suffix = ''): void {
    console.log(`${INDENT}$ ${formatCommand(args)}${suffix}`);
    printOutput(output);
  }
}

export class Report {
  private readonly totalSteps: number;
  private readonly steps: Step[] = [];
  private setupError: string | undefined;

  constructor(totalSteps: number) {
    this.totalSteps = totalSteps;
  }

  section(title: string): void {
    console.log(`\n${title}`);
  }

  /** Prints a setup line that succeeded, such as `ok    upstream      http://127.0.0.1:40123`. */
  ready(label: string, text: string): void {
    console.log(`  ok    ${label.padEnd(14)}${text}`);
  }

  /** Prints a command line and its output under the setup line that follows. */
  command(args: readonly string[], output: string): void {
    console.log(`${INDENT}$ ${formatCommand(args)}`);
    printOutput(output);
  }

  setupFailed(error: unknown): void {
    this.setupError = describe(error);
    console.log(`  FAIL  setup: ${this.setupError}`);
  }

  /** Runs one numbered step. An exception thrown by `run` fails the step but does not stop the demo. */
  async runStep(title: string, run: (step: Step) => Promise<void>): Promise<void> {
    const step = new Step(this.steps.length + 1, title);
    this.steps.push(step);
    console.log(`\n[${step.number}/${this.totalSteps}] ${title}`);
    try {
      await run(step);
    } catch (error) {
      step.check(false, `step stopped by an error: ${describe(error)}`);
    }
  }

  /** Prints the summary and returns true when setup and every step passed. */
  summarize(): boolean {
    this.section('summary');
    if (this.setupError !== undefined) console.log(`  FAIL  setup: ${this.setupError}`);
    for (const step of this.steps) {
      const headline = step.headline === undefined ? '' : ` (${step.headline})`;
      console.log(`  ${step.passed ? 'PASS' : 'FAIL'}  [${step.number}/${this.totalSteps}] ${step.title}${headline}`);
    }
    const passedSteps = this.steps.filter((step) => step.passed).length;
    const allPassed = this.setupError === undefined && passedSteps === this.totalSteps;
    console.log(allPassed ? `all ${this.totalSteps} steps passed` : `${passedSteps} of ${this.totalSteps} steps passed`);
    return allPassed;
  }
}

function printOutput(output: string): void {
  for (const line of output.trimEnd().split('\n')) {
    if (line !== '') console.log(`${INDENT}| ${line}`);
  }
}
