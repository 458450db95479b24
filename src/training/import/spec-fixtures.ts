/** The example configs of tagging-and-config-import.md Part B (B1–B3), verbatim, and a test helper. */
import type { ImportResult, ImportSuccess } from './types.ts';
import { substituteOperatorPaths } from './substitute.ts';
import type { KohyaRunInput } from '../schema/index.ts';

export const GUI_FIXTURE = `{
  "LoRA_type": "Kohya LoCon",
  "additional_parameters": "--max_grad_norm=0.5 \\"--debiased_estimation_loss\\"",
  "clip_skip": "2",
  "conv_alpha": 4,
  "conv_dim": 8,
  "epoch": 10,
  "learning_rate": "0.0001",
  "lr_scheduler": "cosine_with_restarts",
  "lr_scheduler_num_cycles": "",
  "lr_warmup": 5,
  "max_resolution": "1024,768",
  "noise_offset": 0.05,
  "noise_offset_type": "Multires",
  "optimizer_args": "weight_decay=0.01 betas=0.9,0.99",
  "sdxl": true,
  "sdxl_no_half_vae": true,
  "seed": "",
  "text_encoder_lr": 0,
  "unet_lr": 0.0001,
  "use_8bit_adam": true,
  "xformers": "sdpa"
}
`;

export const LETS_FIXTURE = `[general_args.args]
pretrained_model_name_or_path = "/models/base.safetensors"
sdxl = true
sdpa = true
seed = 0
max_train_epochs = 10
[general_args.dataset_args]
resolution = [1024, 768]
batch_size = 2
[network_args.args]
network_dim = 16
network_alpha = 8.0
min_timestep = 0
[network_args.args.network_args]
algo = "locon"
preset = ""
conv_dim = 8
up_lr_weight = [1.0, 0.5]
[optimizer_args.args]
optimizer_type = "CAME"
lr_scheduler = "cosine"
lr_scheduler_type = "LoraEasyCustomOptimizer.RexAnnealingWarmRestarts.RexAnnealingWarmRestarts"
lr_scheduler_num_cycles = 2
learning_rate = 0.0001
warmup_ratio = 0.1
[optimizer_args.args.optimizer_args]
weight_decay = "0.04"
use_bias_correction = "true"
[optimizer_args.args.lr_scheduler_args]
min_lr = 1e-6
gamma = 0.9
[saving_args.args]
output_dir = "/out"
output_name = "\${replace}_v1"
easy_name = "mychar"
[[subsets]]
name = "main"
image_dir = "/data/main"
num_repeats = 3
caption_extension = ".txt"
[train_mode]
train_mode = "lora"
`;

export const KTISEOS_FIXTURE = `{ "name": "fixture", "description": "", "model_type": "SDXL", "training_type": "lora",
  "created_at": 1767225600000, "is_builtin": false,
  "config": { "lora_type": "DoRA", "network_dim": 16, "network_alpha": 8, "conv_dim": 4,
    "resolution": 1024, "train_batch_size": 2, "num_repeats": 5, "unet_lr": 0.0001,
    "optimizer_type": "CAME", "optimizer_args": "\\"betas=(0.9, 0.999)\\",weight_decay=0.01",
    "weight_decay": 0.04, "lr_scheduler": "rex", "lr_scheduler_number": 3,
    "lr_scheduler_gamma": 0.9, "lr_warmup_ratio": 0.05, "cross_attention": "sdpa",
    "min_snr_gamma_enabled": false, "min_snr_gamma": 5, "max_train_steps": 0,
    "max_train_epochs": 10 } }
`;

/** A plain sd-scripts config TOML in sections, as the kohya docs and Lora_Easy_Training_Jupyter write it. */
export const KOHYA_FIXTURE = `[model_arguments]
pretrained_model_name_or_path = "/models/sdxl/base.safetensors"
vae = "/models/sdxl/vae.safetensors"

[dataset_arguments]
train_data_dir = "/data/train"
reg_data_dir = "/data/reg"
resolution = "1024,1024"
enable_bucket = true
caption_extension = ".txt"
shuffle_caption = true
keep_tokens = 1

[training_arguments]
output_dir = "/out"
logging_dir = "/logs"
output_name = "mychar"
save_model_as = "safetensors"
save_every_n_epochs = 2
max_train_epochs = 8
train_batch_size = 2
max_grad_norm = "1.0"
mixed_precision = "bf16"
gradient_checkpointing = true
sdpa = true
cache_latents = true
seed = 42
log_with = "wandb"

[network_arguments]
network_module = "networks.lora"
network_dim = 32
network_alpha = 16
network_train_unet_only = true
network_args = ["conv_dim=8", "conv_alpha=4", "loraplus_lr_ratio=16"]

[optimizer_arguments]
optimizer_type = "Prodigy"
optimizer_args = ["decouple=True", "weight_decay=0.01", "betas=(0.9,0.99)", "use_bias_correction=True", "foo=1"]
learning_rate = 1.0
lr_scheduler = "cosine"
lr_warmup_steps = 100
`;

/** Fake library ids and dataset names, one per role, for substituting operator paths in tests. */
export function withFakeIds(result: ImportResult): KohyaRunInput {
  if (!result.ok) throw new Error(`import failed: ${result.error.message}`);
  return substituteOperatorPaths(result as ImportSuccess, (entry) => {
    switch (entry.role) {
      case 'train-data-dir':
      case 'dataset-config':
        return 'dataset-fake';
      case 'reg-data-dir':
        return 'reg-fake';
      default:
        return `${entry.role}-${entry.field.replace(/[^A-Za-z0-9]/g, '')}`;
    }
  });
}
