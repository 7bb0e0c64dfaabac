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
    accelerate launch train.py configs/demo.json
Everything: `accelerate launch train.py --help`.

What happens, top to bottom: load and clean the data, de-duplicate it, split it
(train/validation/test, nothing shared), fine-tune with BCE-with-logits and
evaluate every epoch (early stopping on validation micro-F1, best weights kept),
tune one threshold per genre on validation, score the test split at 0.5 and at
the tuned thresholds, and save a self-describing model folder (weights,
tokenizer, config with Korean id2label, thresholds, metrics, split manifest,
model card) that `transformers.pipeline` and genre_model.predict load as is.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration
from tqdm.auto import tqdm
from transformers import HfArgumentParser, get_scheduler, set_seed

from genre_model import hub, model_folder
from genre_model.batching import eval_dataloader, tokenize, train_dataloader
from genre_model.data import DataError, DataSpec, load_raw, prepare_splits
from genre_model.genres import GENRES
from genre_model.metrics import Thresholds, best_global_threshold, most_frequent_genres_baseline, multi_label_scores, tune_thresholds
from genre_model.model_card import write_model_card
from genre_model.modeling import ModelLoadError, build_model, load_tokenizer, multi_label_loss, positive_weights


@dataclass
class Arguments:
    # data
    dataset: str = field(metadata={"help": "CSV/TSV/JSON Lines/Parquet file, or a Hub dataset id"})
    validation_file: str | None = field(default=None, metadata={"help": "your own validation split (otherwise carved from --dataset)"})
    test_file: str | None = field(default=None, metadata={"help": "your own test split (otherwise carved from --dataset)"})
    text_column: str = field(default="synopsis", metadata={"help": "column with the synopsis text"})
    genre_column: str = field(default="genres", metadata={"help": "column with genres: a list of names or a KOBIS string like '멜로/로맨스,드라마'"})
    id_column: str = field(default="id", metadata={"help": "column with a row id, recorded in the split manifest (optional)"})
    min_chars: int = field(default=20, metadata={"help": "drop synopses shorter than this many characters"})
    validation_fraction: float = field(default=0.1, metadata={"help": "share of the data for validation, when the data has no validation split"})
    test_fraction: float = field(default=0.1, metadata={"help": "share of the data for test, when the data has no test split"})
    # model
    model_name_or_path: str = field(default="klue/bert-base", metadata={"help": "encoder to fine-tune: a Hub id or a local folder"})
    max_length: int = field(default=512, metadata={"help": "tokens per synopsis; longer ones are truncated"})
    # optimisation
    num_train_epochs: int = field(default=5, metadata={"help": "epochs at most (early stopping may end sooner)"})
    max_train_steps: int | None = field(default=None, metadata={"help": "optimisation steps in total; overrides --num_train_epochs"})
    per_device_train_batch_size: int = field(default=16)
    per_device_eval_batch_size: int = field(default=32)
    gradient_accumulation_steps: int = field(default=1)
    learning_rate: float = field(default=5e-5)
    weight_decay: float = field(default=0.01)
    warmup_fraction: float = field(default=0.1, metadata={"help": "share of the steps with linear learning-rate warm-up"})
    lr_scheduler_type: str = field(default="linear")
    max_grad_norm: float = field(default=1.0)
    pos_weight_cap: float | None = field(default=None, metadata={"help": "weight rare genres' positives by negatives/positives, capped at this (e.g. 10); off by default"})
    early_stopping_patience: int = field(default=2, metadata={"help": "epochs without a better validation micro-F1 (at its best single threshold) before stopping"})
    threshold_min_support: int = field(default=5, metadata={"help": "genres with fewer validation positives get the global threshold"})
    seed: int = field(default=42)
    # checkpoints, logging, output
    output_dir: str = field(default="out/genre-model", metadata={"help": "the model folder; checkpoints go to its checkpoints/"})
    overwrite_output_dir: bool = field(default=False, metadata={"help": "allow starting afresh in a folder that already holds a run"})
    checkpointing_steps: str = field(default="epoch", metadata={"help": "'epoch', a number of optimisation steps, or 'no'"})
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept (the newest); older ones are deleted"})
    resume_from_checkpoint: str | None = field(default=None, metadata={"help": "'latest' or a checkpoint folder"})
    stop_after_steps: int | None = field(default=None, metadata={"help": "checkpoint and stop after this many steps in total, to split a run across time-limited jobs; resume with --resume_from_checkpoint latest"})
    report_to: str | None = field(default=None, metadata={"help": "an accelerate tracker such as 'tensorboard' (logs in OUTPUT_DIR/runs)"})
    # Hub
    push_to_hub: bool = field(default=False)
    hub_model_id: str | None = field(default=None, metadata={"help": "user/name of the Hub repo (default: the output folder's name under your account)"})
    hub_private_repo: bool = field(default=False)
    license: str | None = field(default=None, metadata={"help": "license for the model card, e.g. cc-by-sa-4.0 (klue/bert-base's)"})
    model_description: str | None = field(default=None, metadata={"help": "a paragraph for the model card saying what this model is for"})

    def __post_init__(self):
        if self.checkpointing_steps not in ("epoch", "no") and not self.checkpointing_steps.isdigit():
            raise DataError(f"--checkpointing_steps must be 'epoch', 'no' or a number of steps, not {self.checkpointing_steps!r}")
        if self.save_total_limit < 1:
            raise DataError("--save_total_limit must be at least 1: resuming needs a checkpoint")
        if self.push_to_hub and self.hub_model_id is None:
            self.hub_model_id = Path(self.output_dir).name


def parse_arguments() -> Arguments:
    parser = HfArgumentParser(Arguments, description=__doc__.split("\n\n")[0])
    if len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        (args,) = parser.parse_json_file(sys.argv[1])
    else:
        (args,) = parser.parse_args_into_dataclasses()
    return args


class TrainingState:
    """Where the run is and how it is going: saved with every checkpoint, so a resumed run carries on exactly."""

    FILE = "training_state.json"

    def __init__(self, epoch=0, batches_done=0, completed_steps=0, epoch_loss_sum=0.0, best_score=-1.0, best_epoch=None, epochs_without_improvement=0, history=None):
        self.epoch, self.batches_done, self.completed_steps = epoch, batches_done, completed_steps
        self.epoch_loss_sum = epoch_loss_sum  # over this epoch's batches so far, for its mean training loss
        self.best_score, self.best_epoch, self.epochs_without_improvement = best_score, best_epoch, epochs_without_improvement
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


def find_checkpoint(args: Arguments) -> Path | None:
    if args.resume_from_checkpoint is None:
        return None
    if args.resume_from_checkpoint != "latest":
        path = Path(args.resume_from_checkpoint)
        if not (path / TrainingState.FILE).is_file():
            raise DataError(f"{path} is not a checkpoint of train.py (no {TrainingState.FILE})")
        return path
    checkpoints = list_checkpoints(args.output_dir)
    if not checkpoints:
        raise DataError(f"--resume_from_checkpoint latest: no checkpoint in {args.output_dir}/checkpoints")
    return checkpoints[-1]


def save_checkpoint(accelerator: Accelerator, state: TrainingState, args: Arguments) -> None:
    """Write to a temporary folder, then rename: a run killed mid-save never leaves a half checkpoint behind."""
    final = Path(args.output_dir, "checkpoints", f"step_{state.completed_steps}")
    partial = final.with_name(final.name + ".partial")
    accelerator.save_state(str(partial))
    if accelerator.is_main_process:
        state.save(partial)
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
        for old in list_checkpoints(args.output_dir)[: -args.save_total_limit]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


def stop_for_resume(accelerator: Accelerator, state: TrainingState) -> None:
    accelerator.print(f"stopped after step {state.completed_steps} as asked; continue with --resume_from_checkpoint latest")
    accelerator.end_training()


@torch.inference_mode()
def predict_probabilities(model, dataloader, accelerator: Accelerator) -> tuple[np.ndarray, np.ndarray]:
    """Sigmoid probabilities and true labels for every row of the dataloader's dataset, from all processes, in order."""
    model.eval()
    probabilities, labels = [], []
    for batch in dataloader:
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        logits, batch_labels = accelerator.gather_for_metrics((logits, batch["labels"]))
        probabilities.append(torch.sigmoid(logits.float()).cpu().numpy())
        labels.append(batch_labels.cpu().numpy())
    model.train()
    return np.concatenate(probabilities), np.concatenate(labels)


def write_model_folder(model, tokenizer, args, splits, metrics, thresholds, test_rows, test_probabilities, total_batch_size) -> Path:
    """Everything the predictor, the app and the Hub need, in one folder (main process only)."""
    out = Path(args.output_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    model_folder.write_json(out, model_folder.THRESHOLDS_FILE, thresholds.to_dict())
    model_folder.write_json(out, model_folder.METRICS_FILE, metrics)
    model_folder.write_json(out, model_folder.SPLITS_FILE, {"summary": splits.summary(), "presplit": splits.presplit, "rows": splits.manifest()})
    model_folder.write_json(out, model_folder.DROP_REPORT_FILE, splits.drop_report.to_dict())
    # whether the encoder was a local folder decides how the card names it; recorded now, while the folder is there
    run = asdict(args) | {"total_batch_size": total_batch_size, "base_model_is_local": Path(args.model_name_or_path).is_dir()}
    model_folder.write_json(out, model_folder.TRAINING_ARGS_FILE, run)
    with open(out / model_folder.TEST_PREDICTIONS_FILE, "w", encoding="utf-8") as predictions:
        for row_id, genres, probabilities in zip(test_rows["row_id"], test_rows["genres"], test_probabilities):
            record = {"id": row_id, "genres": genres, "probabilities": dict(zip(GENRES, np.round(probabilities.astype(float), 6)))}
            predictions.write(json.dumps(record, ensure_ascii=False) + "\n")
    write_model_card(out)
    return out


def main(args: Arguments) -> None:
    if args.push_to_hub:
        hub.check_token()  # fail now, not after hours of training
    checkpoint = find_checkpoint(args)
    out = Path(args.output_dir)
    if checkpoint is None and (out / model_folder.TRAINING_ARGS_FILE).exists() and not args.overwrite_output_dir:
        raise DataError(f"{out} already holds a trained model: pass --overwrite_output_dir, --resume_from_checkpoint latest or another --output_dir")

    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(),  # lets `accelerate launch --multi_gpu` run CPU processes (gloo) where there is no GPU
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        log_with=args.report_to,
        project_config=ProjectConfiguration(project_dir=str(out), logging_dir=str(out / "runs")),
    )
    # Seed before the model is built: the new classification head's weights come from this RNG.
    set_seed(args.seed)

    spec = DataSpec(args.text_column, args.genre_column, args.id_column, args.min_chars, args.validation_fraction, args.test_fraction)
    with accelerator.main_process_first():  # the main process fills the datasets cache, the others read it
        splits = prepare_splits(load_raw(args.dataset, args.validation_file, args.test_file), spec, args.seed)
        tokenizer = load_tokenizer(args.model_name_or_path, args.max_length)
        encoded = {name: tokenize(split, tokenizer, args.max_length) for name, split in splits.datasets.items()}
    accelerator.print(f"rows per split: { {name: len(split) for name, split in encoded.items()} }; dropped: {splits.drop_report.to_dict()['dropped']}")
    # evaluation runs longest-first: batches pad to their own longest row, and predictions keep this order
    validation, test = (encoded[name].sort("length", reverse=True) for name in ("validation", "test"))
    pad_to = 8 if accelerator.mixed_precision != "no" else None  # tensor cores like multiples of 8

    model = build_model(args.model_name_or_path)
    train_loader = train_dataloader(encoded["train"], tokenizer, args.per_device_train_batch_size, args.seed, pad_to)
    validation_loader = eval_dataloader(validation, tokenizer, args.per_device_eval_batch_size, pad_to)
    test_loader = eval_dataloader(test, tokenizer, args.per_device_eval_batch_size, pad_to)
    train_labels = np.asarray(encoded["train"]["labels"])
    pos_weight = positive_weights(train_labels, args.pos_weight_cap) if args.pos_weight_cap else None

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")  # the usual BERT recipe: no weight decay on these
    parameter_groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)], "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(parameter_groups, lr=args.learning_rate)
    # Steps are counted after accelerate shards the data, so compute them from the prepared loader.
    model, optimizer, train_loader, validation_loader, test_loader = accelerator.prepare(model, optimizer, train_loader, validation_loader, test_loader)
    steps_per_epoch = math.ceil(len(train_loader) / args.gradient_accumulation_steps)
    max_steps = args.max_train_steps or args.num_train_epochs * steps_per_epoch
    num_epochs = math.ceil(max_steps / steps_per_epoch)
    scheduler = get_scheduler(args.lr_scheduler_type, optimizer, num_warmup_steps=int(args.warmup_fraction * max_steps), num_training_steps=max_steps)
    scheduler = accelerator.prepare(scheduler)
    total_batch_size = args.per_device_train_batch_size * accelerator.num_processes * args.gradient_accumulation_steps
    if args.report_to:
        accelerator.init_trackers("genre_model", config={k: v for k, v in asdict(args).items() if isinstance(v, (int, float, str, bool))})

    state = TrainingState()
    if checkpoint is not None:
        accelerator.print(f"resuming from {checkpoint}")
        accelerator.load_state(str(checkpoint))
        state = TrainingState.load(checkpoint)
    best_dir = out / "checkpoints" / "best"
    accelerator.print(f"{max_steps} steps ({num_epochs} epochs of {steps_per_epoch}), batch {total_batch_size} on {accelerator.num_processes} process(es)")

    progress = tqdm(total=max_steps, initial=state.completed_steps, disable=not accelerator.is_local_main_process, desc="training")
    model.train()
    for epoch in range(state.epoch, num_epochs):
        state.epoch = epoch
        train_loader.set_epoch(epoch)  # the length-grouped order is drawn from (seed, epoch)
        batches = accelerator.skip_first_batches(train_loader, state.batches_done) if state.batches_done else train_loader
        for batch in batches:
            with accelerator.accumulate(model):
                logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
                loss = multi_label_loss(logits, batch["labels"], pos_weight)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
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
            epoch_ends = state.batches_done == len(train_loader)
            # the end of an epoch is checkpointed after its evaluation, below
            stop_now = state.completed_steps == args.stop_after_steps
            if not epoch_ends and (stop_now or (args.checkpointing_steps.isdigit() and state.completed_steps % int(args.checkpointing_steps) == 0)):
                save_checkpoint(accelerator, state, args)
            if stop_now and not epoch_ends:
                return stop_for_resume(accelerator, state)
            if state.completed_steps >= max_steps:
                break

        probabilities, labels = predict_probabilities(model, validation_loader, accelerator)
        scores = multi_label_scores(labels, probabilities >= 0.5)
        best_threshold, selection_score = best_global_threshold(labels, probabilities)
        record = {
            "epoch": epoch,
            "step": state.completed_steps,
            "train_loss": state.epoch_loss_sum / max(state.batches_done, 1),
            "validation_micro_f1_best_threshold": selection_score,
            "validation_best_threshold": best_threshold,
            **{f"validation_{k}": v for k, v in scores.items() if k != "per_genre"},
        }
        state.history.append(record)
        accelerator.log(record, step=state.completed_steps)
        accelerator.print(
            f"epoch {epoch}: train loss {record['train_loss']:.4f}, validation micro-F1 {selection_score:.4f} at threshold {best_threshold:.2f} "
            f"({scores['micro_f1']:.4f} at 0.5), macro-F1 at 0.5 {scores['macro_f1']:.4f}"
        )
        if selection_score > state.best_score:
            state.best_score, state.best_epoch, state.epochs_without_improvement = selection_score, epoch, 0
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                accelerator.unwrap_model(model).save_pretrained(best_dir)
        else:
            state.epochs_without_improvement += 1
        stopped_early = state.epochs_without_improvement >= args.early_stopping_patience
        state.epoch, state.batches_done, state.epoch_loss_sum = epoch + 1, 0, 0.0
        if args.checkpointing_steps != "no" or args.stop_after_steps:
            save_checkpoint(accelerator, state, args)
        if stopped_early:
            accelerator.print(f"no better validation micro-F1 for {args.early_stopping_patience} epochs: stopping")
        if stopped_early or state.completed_steps >= max_steps:
            break
        if state.completed_steps == args.stop_after_steps:
            return stop_for_resume(accelerator, state)
    progress.close()

    # The best epoch's weights, not the last epoch's, are the model.
    accelerator.wait_for_everyone()
    accelerator.unwrap_model(model).load_state_dict(type(accelerator.unwrap_model(model)).from_pretrained(best_dir).state_dict())
    validation_probabilities, validation_labels = predict_probabilities(model, validation_loader, accelerator)
    test_probabilities, test_labels = predict_probabilities(model, test_loader, accelerator)
    thresholds = tune_thresholds(validation_labels, validation_probabilities, args.threshold_min_support)
    fixed = Thresholds.uniform(0.5)
    metrics = {
        "best_epoch": state.best_epoch,
        "history": state.history,
        "validation": {"threshold_0.5": multi_label_scores(validation_labels, fixed.decide(validation_probabilities)), "tuned_thresholds": multi_label_scores(validation_labels, thresholds.decide(validation_probabilities))},
        "test": {
            "threshold_0.5": multi_label_scores(test_labels, fixed.decide(test_probabilities)),
            "tuned_thresholds": multi_label_scores(test_labels, thresholds.decide(test_probabilities)),
            "most_frequent_genres_baseline": most_frequent_genres_baseline(train_labels, test_labels),
        },
    }
    accelerator.print(
        f"test micro-F1 {metrics['test']['tuned_thresholds']['micro_f1']:.4f} (at 0.5: {metrics['test']['threshold_0.5']['micro_f1']:.4f}), "
        f"macro-F1 {metrics['test']['tuned_thresholds']['macro_f1']:.4f}, samples-F1 {metrics['test']['tuned_thresholds']['samples_f1']:.4f}"
    )
    if accelerator.is_main_process:
        folder = write_model_folder(accelerator.unwrap_model(model), tokenizer, args, splits, metrics, thresholds, test, test_probabilities, total_batch_size)
        accelerator.print(f"saved the model folder {folder}")
        if args.push_to_hub:
            hub.push_model_folder(folder, args.hub_model_id, private=args.hub_private_repo)
    accelerator.end_training()


if __name__ == "__main__":
    try:
        main(parse_arguments())
    except (DataError, ModelLoadError, hub.HubError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: rerun the same command with --resume_from_checkpoint latest to continue from the last checkpoint", file=sys.stderr)
        sys.exit(130)
