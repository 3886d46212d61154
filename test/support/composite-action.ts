// Runs a composite GitHub Action's `run:` steps the way the runner does: each step's script through
// `bash --noprofile --norc -eo pipefail`, in the workspace, with GitHub's environment and the step's `env:`
// (its `${{ inputs.* }}` expressions evaluated), honouring `if:`. `uses:` steps (setup-node,
// upload-artifact) need GitHub itself and are skipped. Only the expressions the kit's action uses are
// understood; anything else is an error, so that the action cannot grow one this runner would misread.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { run } from './package.ts';

export interface ActionStep {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
  'working-directory'?: string;
}

export interface CompositeAction {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: ActionStep[] };
}

export async function readAction(path: string): Promise<CompositeAction> {
  const action = parse(await readFile(path, 'utf8')) as CompositeAction;
  if (action.runs.using !== 'composite') throw new Error(`${path} is not a composite action`);
  return action;
}

export interface StepRun {
  name: string;
  /** The script's exit code; undefined when the step did not run (its `if:` was false, or it is a `uses:` step). */
  code?: number | null;
  stdout: string;
  stderr: string;
}

export interface ActionRun {
  steps: StepRun[];
  /** The job's outcome: the exit code of the first step that failed, 0 if none did. */
  exitCode: number;
  /** What the action wrote to $GITHUB_STEP_SUMMARY. */
  summary: string;
  /** The action's outputs, as `outputs:` maps them from the steps' $GITHUB_OUTPUT. */
  outputs: Record<string, string>;
}

interface Context {
  inputs: Record<string, string>;
  github: Record<string, string>;
  steps: Record<string, Record<string, string>>;
  failed: boolean;
}

function value(path: string, context: Context): string {
  const [scope, ...rest] = path.split('.');
  const key = rest.join('.');
  if (scope === 'inputs' && key in context.inputs) return context.inputs[key] ?? '';
  if (scope === 'github' && key in context.github) return context.github[key] ?? '';
  const stepOutput = /^(\w+)\.outputs\.([\w-]+)$/.exec(key);
  if (scope === 'steps' && stepOutput) return context.steps[stepOutput[1] ?? '']?.[stepOutput[2] ?? ''] ?? '';
  throw new Error(`the action uses \${{ ${path} }}, which this runner does not know`);
}

/** Replaces each `${{ <context path> }}` in a string. */
function substitute(text: string, context: Context): string {
  return text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_match, path: string) => value(path, context));
}

/** An `if:` of terms joined by `&&`: always(), success(), failure(), `<path> != ''`, `<path> == '<text>'`. */
function condition(expression: string | undefined, context: Context): boolean {
  const terms = (expression ?? 'success()').split('&&').map((term) => term.trim());
  const statusTerm = terms.some((term) => /^(always|success|failure)\(\)$/.test(term));
  return (statusTerm ? terms : ['success()', ...terms]).every((term) => {
    if (term === 'always()') return true;
    if (term === 'success()') return !context.failed;
    if (term === 'failure()') return context.failed;
    const comparison = /^([\w.-]+)\s*(==|!=)\s*'([^']*)'$/.exec(term);
    if (!comparison) throw new Error(`the action's if: "${expression}" is beyond this runner`);
    return (value(comparison[1] ?? '', context) === comparison[3]) === (comparison[2] === '==');
  });
}

const parseOutputFile = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

/**
 * Runs the action in `actionPath` with `inputs` (defaults from action.yml) in the workspace `workspace`,
 * on top of the environment `env`.
 */
export async function runCompositeAction(options: {
  action: CompositeAction;
  actionPath: string;
  workspace: string;
  inputs: Record<string, string>;
  env: NodeJS.ProcessEnv;
  /** Names of run steps to leave out (one whose work an earlier run of the action already did). */
  skipSteps?: readonly string[];
}): Promise<ActionRun> {
  const { action, actionPath, workspace } = options;
  for (const name of Object.keys(options.inputs)) if (!(name in action.inputs)) throw new Error(`the action has no input "${name}"`);
  const inputs = Object.fromEntries(Object.entries(action.inputs).map(([name, input]) => [name, options.inputs[name] ?? input.default ?? '']));
  const runnerDir = await mkdtemp(join(workspace, '..', 'runner-'));
  const summaryPath = join(runnerDir, 'step_summary.md');
  await writeFile(summaryPath, '');
  const context: Context = { inputs, github: { action_path: actionPath, workspace }, steps: {}, failed: false };
  const steps: StepRun[] = [];
  let exitCode = 0;
  for (const [index, step] of action.runs.steps.entries()) {
    const name = step.name ?? step.uses ?? `step ${index + 1}`;
    if (step.uses !== undefined || options.skipSteps?.includes(name) || !condition(step.if, context)) {
      steps.push({ name, stdout: '', stderr: '' });
      continue;
    }
    if (step.run === undefined || step.shell !== 'bash') throw new Error(`step "${name}": only bash run steps are understood`);
    const script = join(runnerDir, `step-${index + 1}.sh`);
    const outputPath = join(runnerDir, `step-${index + 1}.output`);
    await writeFile(script, substitute(step.run, context));
    await writeFile(outputPath, '');
    const cwd = step['working-directory'] === undefined ? workspace : substitute(step['working-directory'], context);
    await mkdir(cwd, { recursive: true });
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([key, text]) => [key, substitute(String(text), context)]));
    // GitHub's runner starts a bash step as `bash --noprofile --norc -eo pipefail {0}`.
    const result = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd,
      env: {
        ...options.env,
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_ACTION_PATH: actionPath,
        GITHUB_WORKSPACE: workspace,
        GITHUB_STEP_SUMMARY: summaryPath,
        GITHUB_OUTPUT: outputPath,
        RUNNER_TEMP: runnerDir,
        ...stepEnv,
      },
    });
    steps.push({ name, ...result });
    if (step.id !== undefined) context.steps[step.id] = parseOutputFile(await readFile(outputPath, 'utf8'));
    if (result.code !== 0 && !context.failed) {
      context.failed = true;
      exitCode = result.code ?? 1;
    }
  }
  const outputs = Object.fromEntries(Object.entries(action.outputs).map(([name, output]) => [name, substitute(output.value, context)]));
  return { steps, exitCode, summary: await readFile(summaryPath, 'utf8'), outputs };
}
