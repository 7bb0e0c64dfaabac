"""genre_model.scratch: from-scratch encoders whose tokenizer keeps Hangul intact through save and reload."""

from conftest import read_corpus
from transformers import AutoModel, AutoTokenizer

from genre_model.scratch import save_scratch_encoder, train_wordpiece_tokenizer


def test_korean_tokenizes_to_the_same_ids_without_unk_after_save_and_reload(tmp_path):
    sentence = "조선 시대, 억울하게 누명을 쓴 포도청 종사관이 진범을 쫓는다."
    trained = train_wordpiece_tokenizer([row["synopsis"] for row in read_corpus()], vocab_size=3000)
    trained.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    ids = reloaded(sentence)["input_ids"]
    assert ids == trained(sentence)["input_ids"]
    assert reloaded.unk_token_id not in ids
    # syllables stay syllables: accent stripping would have turned them into jamo
    assert "조선" in reloaded.convert_ids_to_tokens(ids)


def test_the_saved_encoder_has_the_requested_shape(tmp_path):
    texts = [row["synopsis"] for row in read_corpus(limit=100)]
    folder = save_scratch_encoder(tmp_path, texts, vocab_size=800, max_length=64, num_hidden_layers=1, hidden_size=32, num_attention_heads=2, intermediate_size=64)
    model = AutoModel.from_pretrained(folder)
    assert model.config.num_hidden_layers == 1 and model.config.hidden_size == 32
    assert model.config.vocab_size == len(AutoTokenizer.from_pretrained(folder))
    assert AutoTokenizer.from_pretrained(folder).model_max_length == 64
