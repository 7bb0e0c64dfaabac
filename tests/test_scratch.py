"""genre_model.scratch: from-scratch encoders keeping Hangul through a save; repeatable on a reused vocabulary."""

import os
import subprocess
import sys

import pytest
from transformers import AutoModel, AutoTokenizer

from genre_model.scratch import ARCHITECTURES, HANGUL_SYLLABLES, main, save_scratch_encoder, train_wordpiece_tokenizer

from helpers import OFFLINE_ENVIRONMENT, PROJECT_ROOT, read_corpus

ONE_LAYER = {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}


def test_korean_tokenizes_to_the_same_ids_without_unk_after_save_and_reload(tmp_path):
    sentence = "조선 시대, 억울하게 누명을 쓴 포도청 종사관이 진범을 쫓는다."
    trained = train_wordpiece_tokenizer([row["synopsis"] for row in read_corpus()], vocab_size=3000)
    trained.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    ids = reloaded(sentence)["input_ids"]
    assert ids == trained(sentence)["input_ids"]
    assert reloaded.unk_token_id not in ids
    # syllables stay syllables: accent stripping would have turned them into jamo
    pieces = "".join(piece.removeprefix("##") for piece in reloaded.convert_ids_to_tokens(ids)[1:-1])
    assert pieces.replace(" ", "") == sentence.replace(" ", "")  # whole syllables, none decomposed into jamo


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_the_saved_encoder_has_the_requested_shape(architecture, tmp_path):
    texts = [row["synopsis"] for row in read_corpus(limit=100)]
    folder = save_scratch_encoder(
        tmp_path,
        train_wordpiece_tokenizer(texts, vocab_size=800, max_length=64),
        architecture,
        **ONE_LAYER,
    )
    model = AutoModel.from_pretrained(folder)
    assert model.config.model_type == architecture
    assert model.config.num_hidden_layers == 1 and model.config.hidden_size == 32
    assert model.config.vocab_size == len(AutoTokenizer.from_pretrained(folder))
    assert AutoTokenizer.from_pretrained(folder).model_max_length == 64


def test_an_encoder_built_on_a_reused_vocabulary_is_repeatable(tmp_path):
    # learning a vocabulary is not repeatable (tokenizers breaks ties in hash order); reusing one, with a seed, is
    texts = [row["synopsis"] for row in read_corpus(limit=100)]
    tokenizer = train_wordpiece_tokenizer(texts, vocab_size=800, max_length=64)
    fresh = (
        save_scratch_encoder(
            tmp_path / "fresh",
            tokenizer,
            **ONE_LAYER,
        )
        / "tokenizer_config.json"
    ).read_text(encoding="utf-8")
    tokenizer(
        texts, truncation=True, max_length=32
    )  # a tokenizer saved after use (train.py's) remembers its truncation
    source = tmp_path / "source"
    tokenizer.save_pretrained(source)
    shape = [part for name, value in ONE_LAYER.items() for part in (f"--{name}", str(value))]
    arguments = ["--tokenizer", str(source), "--seed", "3", "--max_length", "64", *shape]
    # once in this process, once in a fresh interpreter (another hash seed): the same weights both times
    main([*arguments, "--output_dir", str(tmp_path / "first")])
    result = subprocess.run(
        [sys.executable, "-m", "genre_model.scratch", *arguments, "--output_dir", str(tmp_path / "second")],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=os.environ | OFFLINE_ENVIRONMENT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    built = [tmp_path / "first", tmp_path / "second"]
    assert (built[0] / "model.safetensors").read_bytes() == (built[1] / "model.safetensors").read_bytes()
    for folder in built:
        assert AutoTokenizer.from_pretrained(folder).get_vocab() == AutoTokenizer.from_pretrained(source).get_vocab()
        assert (folder / "tokenizer_config.json").read_text(
            encoding="utf-8"
        ) == fresh  # nothing of the source's use carried over


def test_the_command_needs_a_corpus_or_a_tokenizer(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--output_dir", str(tmp_path)])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and "--corpus" in error and "--tokenizer" in error


def test_a_modernbert_classifier_reads_the_mean_of_its_tokens_and_the_pipeline_gives_sigmoid_scores(tmp_path):
    import torch
    from transformers import pipeline

    from genre_model.genres import GENRES
    from genre_model.modeling import build_model

    texts = [row["synopsis"] for row in read_corpus(limit=100)]
    encoder = save_scratch_encoder(
        tmp_path / "encoder", train_wordpiece_tokenizer(texts, vocab_size=800, max_length=64), "modernbert", **ONE_LAYER
    )
    model = build_model(str(encoder)).eval()
    assert model.config.classifier_pooling == "mean"
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    model.save_pretrained(tmp_path / "classifier")
    tokenizer.save_pretrained(tmp_path / "classifier")
    classifier = pipeline("text-classification", model=str(tmp_path / "classifier"), top_k=None, device="cpu")
    scores = {score["label"]: score["score"] for score in classifier([texts[0][:60]])[0]}
    with torch.no_grad():
        logits = model(**tokenizer(texts[0][:60], return_tensors="pt")).logits[0]
    assert set(scores) == set(GENRES)
    assert [scores[genre] for genre in GENRES] == pytest.approx(torch.sigmoid(logits).tolist(), abs=1e-5)


def test_masked_lm_pretraining_refuses_a_modernbert_encoder(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "--corpus",
                "x.jsonl",
                "--architecture",
                "modernbert",
                "--pretrain_epochs",
                "1",
                "--output_dir",
                str(tmp_path),
            ]
        )
    assert exit_.value.code == 2 and "BERT encoders only" in capsys.readouterr().err


def test_words_with_syllables_the_corpus_never_used_keep_their_known_parts():
    texts = [row["synopsis"] for row in read_corpus(limit=100)]
    tokenizer = train_wordpiece_tokenizer(texts, vocab_size=800)
    seen = set("".join(texts))
    unseen = [syllable for syllable in HANGUL_SYLLABLES if syllable not in seen]
    assert len(unseen) > 1000  # a small corpus leaves most syllables out
    # an unseen syllable at the start of a word and inside one: WordPiece alone would make both words [UNK]
    tokens = tokenizer.tokenize(f"{unseen[0]}사랑 사랑{unseen[1]}")
    assert tokenizer.unk_token not in tokens
    assert tokens[0] == unseen[0] and tokens[-1] == f"##{unseen[1]}"
    assert (
        tokenizer.convert_tokens_to_string(tokens) == f"{unseen[0]}사랑 사랑{unseen[1]}"
    )  # every piece of both words kept
    vocabulary = tokenizer.get_vocab()
    assert all(syllable in vocabulary and f"##{syllable}" in vocabulary for syllable in HANGUL_SYLLABLES)


def test_masked_lm_pretraining_lowers_its_loss_and_leaves_an_encoder_train_py_can_load(tmp_path):
    from genre_model.modeling import build_model
    from genre_model.scratch import pretrain_masked_lm

    texts = [row["synopsis"] for row in read_corpus(limit=60)]
    folder = save_scratch_encoder(
        tmp_path,
        train_wordpiece_tokenizer(texts, vocab_size=800, max_length=64),
        **ONE_LAYER,
    )
    before = AutoModel.from_pretrained(folder).embeddings.word_embeddings.weight.detach().clone()
    losses = pretrain_masked_lm(folder, texts, epochs=3, batch_size=16, learning_rate=3e-3)
    assert losses[-1] < losses[0]
    model = build_model(str(folder))  # the classifier takes the pretrained encoder's weights
    assert not model.bert.embeddings.word_embeddings.weight.detach().equal(before)
