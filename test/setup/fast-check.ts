/**
 * Property tests run with a fixed seed in CI, so a failure is reproducible and a green run stays green;
 * a test that names its own seed keeps it. Longer, randomised runs belong in bench/.
 * Set LORASMITH_FC_SEED to explore other seeds locally.
 */
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.LORASMITH_FC_SEED ?? 20261201) });
