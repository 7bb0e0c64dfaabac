"""Fine-tune an encoder to tag Korean movie synopses with 20 genres (multi-label), leak-free.

One GPU (or CPU):
    accelerate launch train.py --dataset data/films.parquet --output_dir out/genre-bert
Several GPUs (set them up once with `accelerate config`):
    accelerate launch --multi_gpu --num_processes 4 train.py --dataset data/films.parquet --output_dir out/genre-bert
Resume an interrupted run (same command, plus):
    ... --resume_from_checkpoint latest          # or a path such as out/genre-bert/checkpoints/step_1200
Push the finished model to the Hub (the token is checked before training starts):
    ... --push_to_hub --hub_model_id you/klue-bert-movie-genres
All arguments from a JSON file instead of flags:
    accelerate launch train.py configs/demo_model.json
Everything: `accelerate launch train.py --help`.

What happens, top to bottom: load and clean the data, de-duplicate it, split it
(train/validation/test, nothing shared), fine-tune with BCE-with-logits and
evaluate every epoch (early stopping on validation micro-F1, best weights kept),
tune one threshold per genre on validation, score the test split at 0.5 and at
the tuned thresholds next to two baselines, and save a self-describing model
folder (weights, tokenizer, config with Korean id2label, thresholds, metrics,
split manifest, model card) that `transformers.pipeline` and
genre_model.predict load as is. Validation and test synopses are scored by
genre_model.scoring, exactly as the predictor and the app score them: long ones
whole, in overlapping windows.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration
from tqdm.auto import tqdm
from transformers import HfArgumentParser, get_scheduler, set_seed

from genre_model import hub
from genre_model.baselines import LabelledTexts, tfidf_baseline_scores
from genre_model.batching import Augmentation, tokenize, train_dataloader
from genre_model.cpu_threads import use_cpu_threads
from genre_model.data import DataSpec, PreparedSplits, prepare_splits
from genre_model.distillation import distilled_rows
from genre_model.errors import ArgumentError, CheckpointError, run_command
from genre_model.genres import GENRES
from genre_model.metrics import (
    best_global_threshold,
    most_frequent_genres_baseline,
    multi_label_scores,
    tune_thresholds,
)
from genre_model.model_card import write_model_card
from genre_model.model_folder import HeldOutPrediction, Thresholds, TrainingRecord, save_model_folder
from genre_model.modeling import build_model, load_tokenizer, multi_label_loss, positive_weights
from genre_model.scoring import (
    COMBINATION_RULE,
    COMBINATION_RULES,
    Windows,
    combine_windows,
    cut_into_windows,
    score_windows,
    window_loader,
)
from genre_model.tables import read_dataset

BEST_ON_VALIDATION = "best_on_validation"  # --window_rule: try every rule, keep the best on validation


@dataclass
class ModelOptions:
    model_name_or_path: str = field(
        default="klue/bert-base", metadata={"help": "encoder to fine-tune: a Hub id or a local folder"}
    )
    max_length: int = field(
        default=512,
        metadata={
            "help": "tokens per window: training reads a synopsis's first window, evaluation and serving read them all"
        },
    )


@dataclass
class TrainingOptions:
    output_dir: str = field(
        default="out/genre-model", metadata={"help": "the model folder; checkpoints go to its checkpoints/"}
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "allow starting afresh in a folder that already holds a run"}
    )
    num_train_epochs: int = field(default=5, metadata={"help": "epochs at most (early stopping may end sooner)"})
    max_train_steps: int | None = field(
        default=None, metadata={"help": "optimisation steps in total; overrides --num_train_epochs"}
    )
    per_device_train_batch_size: int = field(default=16)
    per_device_eval_batch_size: int = field(default=32, metadata={"help": "windows per evaluation batch"})
    gradient_accumulation_steps: int = field(default=1)
    learning_rate: float = field(default=5e-5)
    weight_decay: float = field(default=0.01)
    warmup_fraction: float = field(
        default=0.1, metadata={"help": "share of the steps with linear learning-rate warm-up"}
    )
    lr_scheduler_type: str = field(default="linear")
    max_grad_norm: float = field(default=1.0)
    pos_weight_cap: float | None = field(
        default=None,
        metadata={
            "help": "weight rare genres' positives by negatives/positives, capped at this (e.g. 10); off by default"
        },
    )
    early_stopping_patience: int = field(
        default=2,
        metadata={"help": "epochs without a better validation micro-F1 (at its best single threshold) before stopping"},
    )
    threshold_min_support: int = field(
        default=5, metadata={"help": "genres with fewer validation positives get the global threshold"}
    )
    threshold_relative_to_top: bool = field(
        default=False,
        metadata={
            "help": "tune each genre's threshold as a share of the synopsis's top probability, not a probability: "
            "decisions that hold when the model is less sure of every genre on text unlike its training data"
        },
    )
    window_rule: str = field(
        default=BEST_ON_VALIDATION,
        metadata={
            "help": "how a long synopsis's windows combine into one probability per genre: "
            f"{', '.join(COMBINATION_RULES)}, or {BEST_ON_VALIDATION} (thresholds tuned for each rule on validation; "
            "the rule with the best validation micro-F1 is kept, the first on ties)"
        },
    )
    random_crop: bool = field(
        default=False, metadata={"help": "read a long training synopsis from a random place each epoch, not its start"}
    )
    token_dropout: float = field(
        default=0.0,
        metadata={"help": "share of a training synopsis's tokens hidden behind [MASK] each epoch (e.g. 0.1)"},
    )
    baseline_distillation: float = field(
        default=0.0,
        metadata={
            "help": "learn from (1 - w) * labels + w * the TF-IDF baseline's out-of-fold probabilities, w in [0, 1) "
            "(e.g. 0.5): graded targets from a model of the words, for small training sets"
        },
    )
    distillation_fragments: int = field(
        default=0,
        metadata={
            "help": "with --baseline_distillation: also learn from this many runs of each training synopsis's "
            "sentences (e.g. 2), as rows of their own, with targets from what the baseline reads in each"
        },
    )
    seed: int = field(default=42)
    checkpointing_steps: str = field(
        default="epoch", metadata={"help": "'epoch', a number of optimisation steps, or 'no'"}
    )
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept (the newest); older ones are deleted"})
    resume_from_checkpoint: str | None = field(default=None, metadata={"help": "'latest' or a checkpoint folder"})
    stop_after_steps: int | None = field(
        default=None,
        metadata={
            "help": "checkpoint and stop after this many steps in total, to split a run across time-limited jobs; "
            "resume with --resume_from_checkpoint latest"
        },
    )
    report_to: str | None = field(
        default=None, metadata={"help": "an accelerate tracker such as 'tensorboard' (logs in OUTPUT_DIR/runs)"}
    )

    def __post_init__(self):
        if self.checkpointing_steps not in ("epoch", "no") and not (
            self.checkpointing_steps.isdigit() and int(self.checkpointing_steps) > 0
        ):
            raise ArgumentError(
                f"--checkpointing_steps must be 'epoch', 'no' or a number of steps, not {self.checkpointing_steps!r}"
            )
        if not 0.0 <= self.token_dropout < 1.0:
            raise ArgumentError(f"--token_dropout must lie in [0, 1), not {self.token_dropout}")
        if not 0.0 <= self.baseline_distillation < 1.0:
            raise ArgumentError(f"--baseline_distillation must lie in [0, 1), not {self.baseline_distillation}")
        if self.window_rule not in (*COMBINATION_RULES, BEST_ON_VALIDATION):
            raise ArgumentError(
                f"--window_rule must be one of {', '.join(COMBINATION_RULES)} or {BEST_ON_VALIDATION}, "
                f"not {self.window_rule!r}"
            )
        if self.distillation_fragments < 0:
            raise ArgumentError(f"--distillation_fragments must be 0 or more, not {self.distillation_fragments}")
        if self.distillation_fragments and not self.baseline_distillation:
            raise ArgumentError("--distillation_fragments needs --baseline_distillation: the baseline labels them")
        if self.save_total_limit < 1:
            raise ArgumentError("--save_total_limit must be at least 1: resuming needs a checkpoint")


@dataclass
class HubOptions:
    push_to_hub: bool = field(default=False)
    hub_model_id: str | None = field(
        default=None,
        metadata={"help": "user/name of the Hub repo (default: the output folder's name under your account)"},
    )
    hub_private_repo: bool = field(default=False)
    license: str | None = field(
        default=None, metadata={"help": "license for the model card, e.g. cc-by-sa-4.0 (klue/bert-base's)"}
    )
    model_description: str | None = field(
        default=None, metadata={"help": "a paragraph for the model card saying what this model is for"}
    )


def parse_arguments(argv: list[str] | None = None) -> tuple[DataSpec, ModelOptions, TrainingOptions, HubOptions]:
    argv = sys.argv[1:] if argv is None else argv
    parser = HfArgumentParser(
        (DataSpec, ModelOptions, TrainingOptions, HubOptions), description=__doc__.split("\n\n")[0]
    )
    if len(argv) == 1 and argv[0].endswith(".json"):
        if not Path(argv[0]).is_file():
            raise ArgumentError(f"{argv[0]}: no such arguments file")
        data, model, training, hub_options = parser.parse_json_file(argv[0])
    else:
        data, model, training, hub_options = parser.parse_args_into_dataclasses(argv)
    if data.dataset is None:
        raise ArgumentError("--dataset is required: a data file or a Hub dataset id")
    if hub_options.push_to_hub and hub_options.hub_model_id is None:
        hub_options.hub_model_id = Path(training.output_dir).name
    return data, model, training, hub_options


# ---- checkpoints ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What to do after an optimisation step."""

    save: bool  # write a checkpoint
    pause: bool  # stop, to be resumed later (--stop_after_steps)
    finish: bool  # training is over: the final evaluation follows


def plan_after_step(
    step: int,
    *,
    epoch_over: bool,
    early_stop: bool,
    checkpointing_steps: str,
    stop_after_steps: int | None,
    max_steps: int,
) -> Plan:
    """Checkpoint now? Stop now? After optimisation step `step` (counted from 1).

    epoch_over: the epoch has ended and been evaluated (early_stop is that
    evaluation's verdict); the last step of the run ends its epoch too. Finishing
    wins over pausing: there is nothing left to resume.
    """
    finish = epoch_over and (early_stop or step >= max_steps)
    pause = step == stop_after_steps and not finish
    every = int(checkpointing_steps) if checkpointing_steps.isdigit() else None
    save = pause or (checkpointing_steps == "epoch" and epoch_over) or (every is not None and step % every == 0)
    return Plan(save=save, pause=pause, finish=finish)


class TrainingState:
    """Where the run is and how it is going: saved with every checkpoint, so a resumed run carries on exactly."""

    FILE = "training_state.json"

    def __init__(
        self,
        epoch=0,
        batches_done=0,
        completed_steps=0,
        epoch_loss_sum=0.0,
        best_score=-1.0,
        best_epoch=None,
        epochs_without_improvement=0,
        history=None,
    ):
        self.epoch, self.batches_done, self.completed_steps = epoch, batches_done, completed_steps
        self.epoch_loss_sum = epoch_loss_sum  # over this epoch's batches so far, for its mean training loss
        self.best_score, self.best_epoch, self.epochs_without_improvement = (
            best_score,
            best_epoch,
            epochs_without_improvement,
        )
        self.history = history or []

    def save(self, folder: Path) -> None:
        (folder / self.FILE).write_text(json.dumps(vars(self), indent=2))

    @classmethod
    def load(cls, folder: Path) -> TrainingState:
        return cls(**json.loads((folder / cls.FILE).read_text()))


def list_checkpoints(output_dir: str) -> list[Path]:
    """Finished checkpoints, oldest first (".partial" ones were cut short and are ignored)."""
    finished = [path for path in Path(output_dir, "checkpoints").glob("step_*") if path.name.split("_")[1].isdigit()]
    return sorted(finished, key=lambda path: int(path.name.split("_")[1]))


def find_checkpoint(training: TrainingOptions) -> Path | None:
    if training.resume_from_checkpoint is None:
        return None
    if training.resume_from_checkpoint != "latest":
        path = Path(training.resume_from_checkpoint)
        if not (path / TrainingState.FILE).is_file():
            raise CheckpointError(f"{path} is not a checkpoint of train.py (no {TrainingState.FILE})")
        return path
    checkpoints = list_checkpoints(training.output_dir)
    if not checkpoints:
        raise CheckpointError(f"--resume_from_checkpoint latest: no checkpoint in {training.output_dir}/checkpoints")
    return checkpoints[-1]


def save_checkpoint(accelerator: Accelerator, state: TrainingState, training: TrainingOptions) -> None:
    """Write to a temporary folder, then rename: a run killed mid-save never leaves a half checkpoint behind."""
    final = Path(training.output_dir, "checkpoints", f"step_{state.completed_steps}")
    partial = final.with_name(final.name + ".partial")
    accelerator.save_state(str(partial))
    if accelerator.is_main_process:
        state.save(partial)
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
        for old in list_checkpoints(training.output_dir)[: -training.save_total_limit]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


# ---- evaluation ----------------------------------------------------------------------------------------------


@dataclass
class EvaluationSplit:
    """A validation or test split as the scorer reads it: windows, their prepared loader, true labels."""

    windows: Windows
    loader: torch.utils.data.DataLoader
    labels: np.ndarray

    def window_probabilities(self, model, accelerator: Accelerator) -> np.ndarray:
        """Every window's probabilities, from every process, in the order of `windows`."""
        return score_windows(model, self.loader, gather=accelerator.gather_for_metrics)

    def probabilities(self, model, accelerator: Accelerator, rule: str = COMBINATION_RULE) -> np.ndarray:
        """Every synopsis's probabilities, from every process, in order: what the predictor would give for it."""
        return combine_windows(self.window_probabilities(model, accelerator), self.windows, rule)


def thresholds_for_best_window_rule(
    labels: np.ndarray,
    window_probabilities: np.ndarray,
    windows: Windows,
    rules: tuple[str, ...],
    min_support: int,
    relative_to_top: bool,
) -> tuple[Thresholds, dict[str, float]]:
    """Thresholds tuned on validation for each window rule in `rules`; those of the rule whose thresholds
    reach the best validation micro-F1 (the earliest rule on ties), and every rule's micro-F1.

    Why choose: which rule reads long synopses best depends on the model (one trained on random
    crops sees each window as a synopsis of its own) and the thresholds only hold for the rule
    they were tuned with. Synopses shorter than the window score the same under every rule.
    """
    best, scores = None, {}
    for rule in rules:
        probabilities = combine_windows(window_probabilities, windows, rule)
        thresholds = replace(
            tune_thresholds(labels, probabilities, min_support, relative_to_top=relative_to_top), window_rule=rule
        )
        scores[rule] = multi_label_scores(labels, thresholds.decide(probabilities))["micro_f1"]
        if best is None or scores[rule] > scores[best.window_rule]:
            best = thresholds
    return best, scores


def evaluation_split(split, tokenizer, window: int, batch_size: int, pad_to: int | None) -> EvaluationSplit:
    windows = cut_into_windows(split["text"], tokenizer, window)
    return EvaluationSplit(
        windows, window_loader(windows, tokenizer, batch_size, pad_to), np.asarray(split["labels"], dtype=int)
    )


def held_out_predictions(split, probabilities: np.ndarray) -> list[HeldOutPrediction]:
    return [
        HeldOutPrediction(str(row_id), list(genres), dict(zip(GENRES, np.round(row.astype(float), 6).tolist())))
        for row_id, genres, row in zip(split["row_id"], split["genres"], probabilities)
    ]


# ---- the run -------------------------------------------------------------------------------------------------


def train(data: DataSpec, model_options: ModelOptions, training: TrainingOptions, hub_options: HubOptions) -> Path:
    # ---- before any work: what could make the end of a long run fail
    if hub_options.push_to_hub:
        hub.check_token()
    checkpoint = find_checkpoint(training)
    out = Path(training.output_dir)
    if checkpoint is None and (out / "training_args.json").exists() and not training.overwrite_output_dir:
        raise CheckpointError(
            f"{out} already holds a trained model: pass --overwrite_output_dir, --resume_from_checkpoint latest "
            "or another --output_dir"
        )
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(),  # `accelerate launch --multi_gpu` then runs CPU processes (gloo)
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        log_with=training.report_to,
        project_config=ProjectConfiguration(project_dir=str(out), logging_dir=str(out / "runs")),
    )
    if accelerator.device.type == "cpu":
        accelerator.print(use_cpu_threads().describe())
    # Seed before the model is built: the new classification head's weights come from this RNG.
    set_seed(training.seed)

    # ---- data: clean, de-duplicate, split; tokenise training rows, cut evaluation synopses into windows
    with accelerator.main_process_first():  # the main process fills the datasets cache, the others read it
        splits = prepare_splits(read_dataset(data.dataset, data.validation_file, data.test_file), data, training.seed)
        tokenizer = load_tokenizer(model_options.model_name_or_path, model_options.max_length)
        train_rows = splits.datasets["train"]
        train_labels = np.asarray(train_rows["labels"])  # the true multi-hot labels, whatever the model learns from
        if training.baseline_distillation:
            train_rows = distilled_rows(
                train_rows,
                train_labels,
                training.baseline_distillation,
                training.distillation_fragments,
                training.seed,
            )
            if len(train_rows) > len(train_labels):
                accelerator.print(f"learning from {len(train_rows) - len(train_labels)} synopsis fragments as well")
        train_split = tokenize(train_rows, tokenizer, model_options.max_length, whole=training.random_crop)
    accelerator.print(
        f"rows per split: { {name: len(split) for name, split in splits.datasets.items()} }; "
        f"dropped: {splits.drop_report.to_dict()['dropped']}"
    )
    pad_to = 8 if accelerator.mixed_precision != "no" else None  # tensor cores like multiples of 8
    validation, test = (
        evaluation_split(
            splits.datasets[name], tokenizer, model_options.max_length, training.per_device_eval_batch_size, pad_to
        )
        for name in ("validation", "test")
    )

    # ---- model and optimiser
    model = build_model(model_options.model_name_or_path)
    augmentation = Augmentation(random_crop=training.random_crop, token_dropout=training.token_dropout)
    train_loader = train_dataloader(
        train_split,
        tokenizer,
        training.per_device_train_batch_size,
        training.seed,
        model_options.max_length,
        augmentation,
        pad_to,
    )
    pos_weight = positive_weights(train_labels, training.pos_weight_cap) if training.pos_weight_cap else None
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")  # the usual BERT recipe: no weight decay on these
    optimizer = torch.optim.AdamW(
        [
            {
                "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
                "weight_decay": training.weight_decay,
            },
            {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
        ],
        lr=training.learning_rate,
    )
    model, optimizer, train_loader, validation.loader, test.loader = accelerator.prepare(
        model, optimizer, train_loader, validation.loader, test.loader
    )
    # Steps are counted after accelerate shards the data, so compute them from the prepared loader.
    steps_per_epoch = math.ceil(len(train_loader) / training.gradient_accumulation_steps)
    max_steps = training.max_train_steps or training.num_train_epochs * steps_per_epoch
    num_epochs = math.ceil(max_steps / steps_per_epoch)
    scheduler = accelerator.prepare(
        get_scheduler(
            training.lr_scheduler_type,
            optimizer,
            num_warmup_steps=int(training.warmup_fraction * max_steps),
            num_training_steps=max_steps,
        )
    )
    total_batch_size = (
        training.per_device_train_batch_size * accelerator.num_processes * training.gradient_accumulation_steps
    )
    run = asdict(data) | asdict(model_options) | asdict(training) | asdict(hub_options)
    if training.report_to:
        accelerator.init_trackers(
            "genre_model",
            config={key: value for key, value in run.items() if isinstance(value, (int, float, str, bool))},
        )
    state = TrainingState()
    if checkpoint is not None:
        accelerator.print(f"resuming from {checkpoint}")
        accelerator.load_state(str(checkpoint))
        state = TrainingState.load(checkpoint)
    best_dir = out / "checkpoints" / "best"
    accelerator.print(
        f"{max_steps} steps ({num_epochs} epochs of {steps_per_epoch}), "
        f"batch {total_batch_size} on {accelerator.num_processes} process(es)"
    )

    # ---- the loop: optimise, evaluate at each epoch's end, checkpoint and stop as plan_after_step says
    progress = tqdm(
        total=max_steps, initial=state.completed_steps, disable=not accelerator.is_local_main_process, desc="training"
    )
    # a resumed run whose last checkpoint came after its final epoch goes straight to the final evaluation
    finished = (
        state.epoch >= num_epochs
        or state.completed_steps >= max_steps
        or state.epochs_without_improvement >= training.early_stopping_patience
    )
    plan = Plan(save=False, pause=False, finish=finished)
    model.train()
    schedule = dict(
        checkpointing_steps=training.checkpointing_steps,
        stop_after_steps=training.stop_after_steps,
        max_steps=max_steps,
    )

    def follow(plan: Plan) -> bool:
        """Checkpoint if the plan says so; True when the run must pause now."""
        if plan.save:
            save_checkpoint(accelerator, state, training)
        return plan.pause

    optimising_seconds, first_step = 0.0, state.completed_steps  # the loop's own time, evaluation excluded, for the log
    while not plan.finish:
        epoch_started = time.perf_counter()
        train_loader.set_epoch(state.epoch)  # the length-grouped order is drawn from (seed, epoch)
        batches = (
            accelerator.skip_first_batches(train_loader, state.batches_done) if state.batches_done else train_loader
        )
        for batch in batches:
            with accelerator.accumulate(model):
                logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
                loss = multi_label_loss(logits, batch["labels"], pos_weight)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), training.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            state.batches_done += 1
            state.epoch_loss_sum += loss.item()
            if not accelerator.sync_gradients:
                continue
            state.completed_steps += 1
            progress.update(1)
            progress.set_postfix(loss=f"{state.epoch_loss_sum / state.batches_done:.4f}")
            if state.batches_done == len(train_loader) or state.completed_steps >= max_steps:
                break  # the epoch is over: evaluated and planned for below
            plan = plan_after_step(state.completed_steps, epoch_over=False, early_stop=False, **schedule)
            if follow(plan):
                return pause(accelerator, state)

        optimising_seconds += time.perf_counter() - epoch_started
        record = evaluate_epoch(model, validation, accelerator, state)
        if record["validation_micro_f1_best_threshold"] > state.best_score:
            state.best_score, state.best_epoch, state.epochs_without_improvement = (
                record["validation_micro_f1_best_threshold"],
                state.epoch,
                0,
            )
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                accelerator.unwrap_model(model).save_pretrained(best_dir)
        else:
            state.epochs_without_improvement += 1
        early_stop = state.epochs_without_improvement >= training.early_stopping_patience
        state.epoch, state.batches_done, state.epoch_loss_sum = state.epoch + 1, 0, 0.0
        plan = plan_after_step(state.completed_steps, epoch_over=True, early_stop=early_stop, **schedule)
        if early_stop:
            accelerator.print(f"no better validation micro-F1 for {training.early_stopping_patience} epochs: stopping")
        if follow(plan):
            return pause(accelerator, state)
    progress.close()
    steps = state.completed_steps - first_step
    accelerator.print(
        f"optimised {steps} steps in {optimising_seconds:.1f} s ({optimising_seconds / max(steps, 1):.3f} s a step)"
    )

    # ---- final evaluation: the best epoch's weights, thresholds tuned on validation, test scored once
    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.load_state_dict(type(unwrapped).from_pretrained(best_dir).state_dict())
    validation_windows = validation.window_probabilities(model, accelerator)
    thresholds, window_rule_scores = thresholds_for_best_window_rule(
        validation.labels,
        validation_windows,
        validation.windows,
        COMBINATION_RULES if training.window_rule == BEST_ON_VALIDATION else (training.window_rule,),
        training.threshold_min_support,
        training.threshold_relative_to_top,
    )
    accelerator.print(
        f"long synopses: windows combined by {thresholds.window_rule} (validation micro-F1 with thresholds tuned "
        f"for each rule: {', '.join(f'{rule} {score:.4f}' for rule, score in window_rule_scores.items())})"
    )
    validation_probabilities = combine_windows(validation_windows, validation.windows, thresholds.window_rule)
    test_probabilities = test.probabilities(model, accelerator, thresholds.window_rule)
    metrics = final_metrics(state, thresholds, validation, validation_probabilities, test, test_probabilities)
    metrics["validation"]["micro_f1_by_window_rule"] = window_rule_scores
    metrics["test"] |= baseline_scores(splits, training.threshold_min_support)
    scores = metrics["test"]["tuned_thresholds"]
    accelerator.print(
        f"test micro-F1 {scores['micro_f1']:.4f} (at 0.5: {metrics['test']['threshold_0.5']['micro_f1']:.4f}), "
        f"macro-F1 {scores['macro_f1']:.4f}, samples-F1 {scores['samples_f1']:.4f}"
    )

    # ---- save (and push) the model folder, from the main process only
    if accelerator.is_main_process:
        record = training_record(
            splits,
            metrics,
            thresholds,
            held_out_predictions(splits.datasets["test"], test_probabilities),
            run
            | {
                "total_batch_size": total_batch_size,
                "base_model_is_local": Path(model_options.model_name_or_path).is_dir(),
            },
        )
        save_model_folder(out, unwrapped, tokenizer, record)
        write_model_card(out, record)
        accelerator.print(f"saved the model folder {out}")
        if hub_options.push_to_hub:
            hub.push_model_folder(out, hub_options.hub_model_id, private=hub_options.hub_private_repo)
    accelerator.end_training()
    return out


def pause(accelerator: Accelerator, state: TrainingState) -> None:
    accelerator.print(
        f"stopped after step {state.completed_steps} as asked; continue with --resume_from_checkpoint latest"
    )
    accelerator.end_training()


def evaluate_epoch(model, validation: EvaluationSplit, accelerator: Accelerator, state: TrainingState) -> dict:
    """Score validation, log and record the epoch; model selection uses micro-F1 at the best single threshold."""
    probabilities = validation.probabilities(model, accelerator)
    scores = multi_label_scores(validation.labels, probabilities >= 0.5)
    best_threshold, selection_score = best_global_threshold(validation.labels, probabilities)
    record = {
        "epoch": state.epoch,
        "step": state.completed_steps,
        "train_loss": state.epoch_loss_sum / max(state.batches_done, 1),
        "validation_micro_f1_best_threshold": selection_score,
        "validation_best_threshold": best_threshold,
        **{f"validation_{name}": value for name, value in scores.items() if name != "per_genre"},
    }
    state.history.append(record)
    accelerator.log(record, step=state.completed_steps)
    accelerator.print(
        f"epoch {state.epoch}: train loss {record['train_loss']:.4f}, "
        f"validation micro-F1 {selection_score:.4f} at threshold {best_threshold:.2f} "
        f"({scores['micro_f1']:.4f} at 0.5), macro-F1 at 0.5 {scores['macro_f1']:.4f}"
    )
    return record


def final_metrics(
    state: TrainingState,
    thresholds: Thresholds,
    validation: EvaluationSplit,
    validation_probabilities: np.ndarray,
    test: EvaluationSplit,
    test_probabilities: np.ndarray,
) -> dict:
    half = Thresholds.uniform(0.5)
    return {
        "best_epoch": state.best_epoch,
        "history": state.history,
        "validation": {
            "threshold_0.5": multi_label_scores(validation.labels, half.decide(validation_probabilities)),
            "tuned_thresholds": multi_label_scores(validation.labels, thresholds.decide(validation_probabilities)),
        },
        "test": {
            "threshold_0.5": multi_label_scores(test.labels, half.decide(test_probabilities)),
            "tuned_thresholds": multi_label_scores(test.labels, thresholds.decide(test_probabilities)),
        },
    }


def baseline_scores(splits: PreparedSplits, threshold_min_support: int) -> dict:
    """The two baselines on the test split: the most frequent genres for every synopsis, and TF-IDF + logistic
    regression fitted on train with thresholds tuned on validation, as the model's are."""
    parts = {
        name: LabelledTexts(list(split["text"]), np.asarray(split["labels"], dtype=int))
        for name, split in splits.datasets.items()
    }
    return {
        "most_frequent_genres_baseline": most_frequent_genres_baseline(parts["train"].labels, parts["test"].labels),
        "tfidf_baseline": tfidf_baseline_scores(
            parts["train"], parts["validation"], parts["test"], min_support=threshold_min_support
        ),
    }


def training_record(
    splits: PreparedSplits, metrics: dict, thresholds: Thresholds, predictions: list[HeldOutPrediction], run: dict
) -> TrainingRecord:
    return TrainingRecord(
        thresholds=thresholds,
        metrics=metrics,
        split_summary=splits.summary(),
        split_rows=splits.manifest(),
        presplit=splits.presplit,
        drop_report=splits.drop_report.to_dict(),
        run=run,
        test_predictions=predictions,
    )


def main(argv: list[str] | None = None) -> int:
    return run_command(
        lambda: train(*parse_arguments(argv)),
        interrupted="rerun the same command with --resume_from_checkpoint latest to continue from the last checkpoint",
    )


if __name__ == "__main__":
    sys.exit(main())
