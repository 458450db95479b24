/**
 * Rules of a FluxFlow pipeline that FluxFlow itself checks too late or not at all: it accepts a step that trains
 * nothing, silently skips a trained component without an optimiser, and uses step names in file names
 * (fluxflow.md §1.2 "Validation", "Pipeline traps").
 */
import type { FluxflowRunConfig, FluxflowStep } from '../schema/index.ts';
import { type ValidationIssue, issue } from './types.ts';

function trainsVae(step: FluxflowStep): boolean {
  return step.trainVae || step.ganTraining || step.trainSpade;
}

function trainsFlow(step: FluxflowStep): boolean {
  return step.trainDiff || step.trainDiffFull;
}

function checkStep(config: FluxflowRunConfig, step: FluxflowStep, path: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!trainsVae(step) && !trainsFlow(step)) {
    issues.push(
      issue('fluxflow-step-no-mode', 'error', path, `Step ${step.name} trains nothing; FluxFlow refuses a step without a training mode.`, 'Turn on trainVae, ganTraining, trainSpade, trainDiff or trainDiffFull.'),
    );
  }
  const { optimizers } = step;
  const listed = Object.values(optimizers).some((optimizer) => optimizer !== undefined);
  // Without any optimiser FluxFlow builds defaults from `lr`; with some, a trained part lacking one is skipped.
  if (listed && trainsVae(step) && optimizers.vae === undefined) {
    issues.push(
      issue('fluxflow-optimizer-missing', 'error', `${path}.optimizers.vae`, `Step ${step.name} trains the VAE but lists no VAE optimiser, so FluxFlow silently skips VAE training.`, 'Add optimizers.vae to the step.'),
    );
  }
  if (listed && trainsFlow(step) && optimizers.flow === undefined) {
    issues.push(
      issue('fluxflow-optimizer-missing', 'error', `${path}.optimizers.flow`, `Step ${step.name} trains the flow model but lists no flow optimiser, so FluxFlow silently skips it (logs "Flow: 0.0000").`, 'Add optimizers.flow to the step.'),
    );
  }
  if (listed && step.lr !== undefined) {
    issues.push(issue('fluxflow-lr-unused', 'info', `${path}.lr`, 'The step lists optimisers, which carry their own learning rates; the step lr is ignored.', 'Remove the step lr.'));
  }
  for (const component of step.freeze.filter((name) => step.unfreeze.includes(name))) {
    issues.push(issue('fluxflow-freeze-and-unfreeze', 'error', `${path}.freeze`, `Step ${step.name} both freezes and unfreezes ${component}.`, `Remove ${component} from one of the two lists.`));
  }
  if (trainsFlow(step) && !config.model.pretrainedTextEncoder && optimizers.textEncoder === undefined) {
    issues.push(
      issue(
        'fluxflow-random-text-encoder',
        'warning',
        `${path}.optimizers.textEncoder`,
        `Step ${step.name} trains the flow model on a random, frozen text encoder: prompts will mean nothing.`,
        'Turn model.pretrainedTextEncoder on, or add optimizers.textEncoder to train it.',
      ),
    );
  }
  if (step.transition.mode === 'loss_threshold' && step.transition.maxEpochs > step.nEpochs) {
    issues.push(
      issue('fluxflow-transition-capped', 'info', `${path}.transition.maxEpochs`, `maxEpochs ${step.transition.maxEpochs} is more than the step's ${step.nEpochs} epochs; the step ends after ${step.nEpochs}.`, 'Lower maxEpochs or raise nEpochs.'),
    );
  }
  return issues;
}

export function checkFluxflow(config: FluxflowRunConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const names = new Set<string>();
  config.pipeline.steps.forEach((step, index) => {
    const path = `pipeline.steps[${index}]`;
    if (names.has(step.name)) {
      issues.push(
        issue('fluxflow-step-name-duplicate', 'error', `${path}.name`, `Two steps are named ${step.name}; FluxFlow would mix their metrics and samples.`, 'Give every step its own name.'),
      );
    }
    names.add(step.name);
    issues.push(...checkStep(config, step, path));
  });
  return issues;
}
