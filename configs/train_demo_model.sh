#!/usr/bin/env bash
# Rebuild demo_model/, the small model app.py uses when no other model is configured.
# From the repository root, with the virtual environment of the README:
#     PATH=.venv/bin:$PATH bash configs/train_demo_model.sh      (about 45 minutes on one CPU core)
# No pretrained Korean encoder is downloaded: a randomly initialised 4-layer, 192-wide ModernBERT
# that reads the mean of its tokens is built on the demo model's WordPiece vocabulary, then
# train.py fine-tunes it with configs/demo_model.json (same leak-free split, thresholds, baselines
# and model card as any run). Because the corpus is small: random crops and token dropout; targets
# blended from the labels and the TF-IDF baseline's out-of-fold probabilities, for every training
# synopsis and for up to two runs of its sentences; thresholds that are shares of each synopsis's
# top probability. README "The demo model" says what each choice did.
# The vocabulary (8,000 pieces learnt from examples/synopses.jsonl with
#     python -m genre_model.scratch --corpus examples/synopses.jsonl --vocab_size 8000 ...
# plus the common Hangul syllables the corpus lacks: 10,084 in all) is reused rather than
# learnt again because the WordPiece trainer breaks ties differently on every run; with it,
# this script rebuilds the same model on the same machine, library versions and thread
# count (OMP_NUM_THREADS=1 below: other counts round sums in another order).
set -euo pipefail
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1

# --seed 1: the initialisation seed of the earlier BERT demo models, kept, not tuned.
python -m genre_model.scratch --tokenizer demo_model --output_dir build/demo-encoder --seed 1 \
  --architecture modernbert --max_length 256 --num_hidden_layers 4 --hidden_size 192 --num_attention_heads 4 \
  --intermediate_size 768
accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no --dynamo_backend no train.py configs/demo_model.json
rm -rf demo_model/checkpoints  # resumable state and a copy of the best weights: not part of the shipped model
