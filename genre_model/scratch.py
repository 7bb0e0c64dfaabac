"""Build a from-scratch encoder (WordPiece tokenizer + randomly initialised BERT) from Korean text.

Used where no pretrained Korean encoder can be downloaded: the tests (a tiny
one), the CPU benchmarks (a bert-base-sized one) and the embedded demo model.
The folder it writes is what `train.py --model_name_or_path` takes.

    python -m genre_model.scratch --corpus examples/synopses.jsonl --output_dir build/encoder \
        --vocab_size 8000 --num_hidden_layers 4 --hidden_size 256
    python -m genre_model.scratch --tokenizer demo_model --output_dir build/encoder ...   # reuse a vocabulary
    python -m genre_model.scratch --corpus examples/synopses.jsonl --pretrain_epochs 20 ...  # + masked-LM pretraining

Learning a vocabulary is not reproducible: the `tokenizers` WordPiece trainer
breaks ties between equally frequent pairs in hash-map order, which changes from
run to run, so two runs on the same text give slightly different vocabularies.
Where a run must be repeated exactly (configs/train_demo_model.sh), reuse the
vocabulary with --tokenizer; the random weights are reproducible from --seed.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertModel,
    BertTokenizerFast,
    ModernBertConfig,
    ModernBertModel,
    PreTrainedTokenizerBase,
)

from genre_model.tables import read_table

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# The 2,350 Hangul syllables of KS X 1001 (every one EUC-KR can write): the syllables of everyday Korean text.
HANGUL_SYLLABLES = tuple(bytes([high, low]).decode("euc-kr") for high in range(0xB0, 0xC9) for low in range(0xA1, 0xFF))


def train_wordpiece_tokenizer(texts: Iterable[str], vocab_size: int, max_length: int = 512) -> BertTokenizerFast:
    """A BERT-style WordPiece tokenizer that keeps Hangul: `vocab_size` pieces from `texts`, plus every common syllable.

    BERT's default normaliser strips accents, which decomposes every Hangul
    syllable into jamo; lower-casing is meaningless for Korean. Both are off here
    and, crucially, in the saved config too (`do_lower_case=False`), or a reload
    would silently turn most Korean tokens into [UNK]. See `as_bert_tokenizer`
    for the syllables.
    """
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(
        lowercase=False, strip_accents=False, clean_text=True, handle_chinese_chars=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS)
    )
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tokenizer.decoder = decoders.WordPiece()
    return as_bert_tokenizer(tokenizer, max_length)


def reuse_tokenizer(folder: str | Path, max_length: int = 512) -> BertTokenizerFast:
    """The WordPiece vocabulary of a folder this module (or train.py) wrote, with a window of `max_length` tokens."""
    tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    # A tokenizer saved after use remembers its last truncation; a fresh encoder starts without one.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return as_bert_tokenizer(tokenizer, max_length)


def as_bert_tokenizer(tokenizer: Tokenizer, max_length: int) -> BertTokenizerFast:
    """`tokenizer` as a transformers tokenizer, its vocabulary completed with every syllable of HANGUL_SYLLABLES.

    WordPiece turns a whole word into [UNK] when one of its syllables is not in
    the vocabulary, and a vocabulary learnt from a thousand synopses holds only
    about half of the common syllables (1,255 of 2,350 for the demo model's
    first vocabulary: no 깔, 긍 or 굵). Each missing syllable is added both as a
    word start and as a "##" continuation, after the learnt pieces, so that a
    real synopsis keeps the known parts of such words. A vocabulary that is
    already complete is left as it is.
    """
    vocabulary = tokenizer.get_vocab()
    for piece in (piece for syllable in HANGUL_SYLLABLES for piece in (syllable, f"##{syllable}")):
        vocabulary.setdefault(piece, len(vocabulary))
    tokenizer.model = models.WordPiece(vocabulary, unk_token="[UNK]", continuing_subword_prefix="##")
    return BertTokenizerFast(
        tokenizer_object=tokenizer,
        do_lower_case=False,
        strip_accents=False,
        model_max_length=max_length,
        **{
            name: token
            for name, token in zip(("pad_token", "unk_token", "cls_token", "sep_token", "mask_token"), SPECIAL_TOKENS)
        },
    )


ARCHITECTURES = ("bert", "modernbert")


def save_scratch_encoder(
    output_dir: str | Path, tokenizer: PreTrainedTokenizerBase, architecture: str = "bert", **sizes
) -> Path:
    """Write `tokenizer` and a random encoder sized by `sizes` (a position per window token) to `output_dir`.

    `bert` is BERT: its classifier reads the [CLS] token. `modernbert` is
    ModernBERT (rotary positions, gated feed-forward layers, no biases) set to
    read the mean of all tokens: a from-scratch encoder trained on a few
    thousand synopses learns a genre from the words spread over the whole
    text far more easily through a mean than through one token that must
    first learn to gather them. Dropout is BERT's 0.1 in both (ModernBERT
    ships 0, tuned for pretraining on billions of tokens).
    """
    shape = {
        "vocab_size": len(tokenizer),
        "max_position_embeddings": tokenizer.model_max_length,
        "pad_token_id": tokenizer.pad_token_id,
        **sizes,
    }
    if architecture == "bert":
        model = BertModel(BertConfig(**shape))
    elif architecture == "modernbert":
        model = ModernBertModel(
            ModernBertConfig(
                **shape,
                cls_token_id=tokenizer.cls_token_id,
                bos_token_id=tokenizer.cls_token_id,
                sep_token_id=tokenizer.sep_token_id,
                eos_token_id=tokenizer.sep_token_id,
                classifier_pooling="mean",
                embedding_dropout=0.1,
                attention_dropout=0.1,
                mlp_dropout=0.1,
                classifier_dropout=0.1,
            )
        )
    else:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, not {architecture!r}")
    output_dir = Path(output_dir)
    tokenizer.save_pretrained(output_dir)
    model.save_pretrained(output_dir)
    return output_dir


def pretrain_masked_lm(
    folder: str | Path,
    texts: list[str],
    *,
    epochs: int,
    batch_size: int = 32,
    learning_rate: float = 5e-4,
    seed: int = 42,
) -> list[float]:
    """Masked-language-model pretraining of the encoder in `folder` on every window of `texts`, saved in place.

    A from-scratch encoder fine-tuned on a few thousand labelled synopses learns
    the labels' vocabulary and little of the language; predicting hidden tokens
    of the same texts first (BERT's objective, 15 % of tokens) gives it the
    language to build on. Returns each epoch's mean loss.
    """
    import torch
    from torch.utils.data import DataLoader
    from transformers import AutoTokenizer, BertForMaskedLM, DataCollatorForLanguageModeling, get_scheduler

    from genre_model.scoring import cut_into_windows

    tokenizer = AutoTokenizer.from_pretrained(folder)
    # every window, as the scorer cuts them
    examples = [
        {"input_ids": window["input_ids"]}
        for window in cut_into_windows(texts, tokenizer, tokenizer.model_max_length).inputs
    ]
    torch.manual_seed(seed)
    model = BertForMaskedLM.from_pretrained(folder).train()
    loader = DataLoader(
        examples,
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        collate_fn=DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15),
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    steps = epochs * len(loader)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=steps // 20, num_training_steps=steps)
    losses = []
    for epoch in range(epochs):
        total = 0.0
        for batch in loader:
            # The vocabulary-sized output layer runs only where tokens were hidden (15 %), not at every
            # position as BertForMaskedLM's own forward does: that layer is most of a small model's cost.
            hidden = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            hidden_positions = batch["labels"] != -100
            loss = torch.nn.functional.cross_entropy(
                model.cls(hidden[hidden_positions]), batch["labels"][hidden_positions]
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            total += loss.item()
        losses.append(total / len(loader))
        print(f"masked-LM epoch {epoch}: loss {losses[-1]:.4f}", flush=True)
    model.save_pretrained(folder)
    return losses


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus", help="a table (JSON Lines, CSV, ..., .txt) with a synopsis column to learn the vocabulary from"
    )
    parser.add_argument("--text_column", default="synopsis")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--seed", type=int, default=42, help="seed of the random weights")
    vocabulary = parser.add_mutually_exclusive_group()
    vocabulary.add_argument(
        "--vocab_size", type=int, default=8000, help="learn a WordPiece vocabulary of this size from --corpus"
    )
    vocabulary.add_argument(
        "--tokenizer", help="reuse the tokenizer of this folder instead of learning one (a repeatable run)"
    )
    parser.add_argument(
        "--architecture", choices=ARCHITECTURES, default="bert", help="bert reads [CLS]; modernbert the mean of tokens"
    )
    parser.add_argument("--max_length", type=int, default=512, help="position embeddings, and the tokenizer's window")
    parser.add_argument("--num_hidden_layers", type=int, default=4)
    parser.add_argument("--hidden_size", type=int, default=256)
    parser.add_argument("--num_attention_heads", type=int, default=4)
    parser.add_argument("--intermediate_size", type=int, default=1024)
    parser.add_argument(
        "--pretrain_epochs",
        type=int,
        default=0,
        help="masked-language-model pretraining on --corpus for this many epochs (default: none)",
    )
    args = parser.parse_args(argv)
    if not args.tokenizer and not args.corpus:
        parser.error("give --corpus to learn a vocabulary from, or --tokenizer to reuse one")
    if args.pretrain_epochs and not args.corpus:
        parser.error("--pretrain_epochs needs --corpus, the text to pretrain on")
    if args.pretrain_epochs and args.architecture != "bert":
        parser.error("--pretrain_epochs pretrains BERT encoders only (--architecture bert)")

    from transformers import set_seed

    set_seed(args.seed)  # the random weights are part of what makes a run reproducible
    texts = []
    if args.corpus:
        texts = [
            text
            for text in read_table(args.corpus, text_column=args.text_column).column(args.text_column)
            if isinstance(text, str)
        ]
    if args.tokenizer:
        tokenizer = reuse_tokenizer(args.tokenizer, args.max_length)
    else:
        tokenizer = train_wordpiece_tokenizer(texts, args.vocab_size, args.max_length)
    folder = save_scratch_encoder(
        args.output_dir,
        tokenizer,
        args.architecture,
        num_hidden_layers=args.num_hidden_layers,
        hidden_size=args.hidden_size,
        num_attention_heads=args.num_attention_heads,
        intermediate_size=args.intermediate_size,
    )
    if args.pretrain_epochs:
        pretrain_masked_lm(folder, texts, epochs=args.pretrain_epochs, seed=args.seed)
    print(f"wrote a from-scratch encoder to {folder}")


if __name__ == "__main__":
    main()
