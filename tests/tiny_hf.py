"""Tiny Hugging Face models of the real architectures, built locally (no download).

Shared by tests/test_hf_backends.py and tests/test_backend_contracts.py. Each builder
writes a model with ``save_pretrained`` into a directory under ``tmp_path`` and returns
it; weights are random except the classifier/output rows set so that one class (or the
given tokens) wins, which makes the expected answers known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RUBERT_LABELS = ["no_emotion", "joy", "sadness", "surprise", "fear", "anger"]
SUPERB_LABELS = ["neu", "hap", "ang", "sad"]
SR = 16000


def tiny_bert(tmp_path: Path, transformers: Any, *, winner: str) -> Path:
    words = ["грустно", "весело", "страшно", "i", "am", "sad", "happy", "very", "today", "."]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tok = transformers.BertTokenizer(vocab={w: i for i, w in enumerate(vocab)})
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        id2label=dict(enumerate(RUBERT_LABELS)),
        label2id={n: i for i, n in enumerate(RUBERT_LABELS)},
        problem_type="multi_label_classification",
    )
    model = transformers.BertForSequenceClassification(config).eval()
    import torch

    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.fill_(-4.0)
        model.classifier.bias[RUBERT_LABELS.index(winner)] = 4.0
    out = tmp_path / f"rubert-{winner}"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def tiny_hubert(tmp_path: Path, transformers: Any, *, winner: str) -> Path:
    config = transformers.HubertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32, 32, 32),
        conv_stride=(5, 4, 4),
        conv_kernel=(10, 4, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        conv_bias=True,
        use_weighted_layer_sum=True,
        classifier_proj_size=16,
        id2label=dict(enumerate(SUPERB_LABELS)),
        label2id={n: i for i, n in enumerate(SUPERB_LABELS)},
    )
    model = transformers.HubertForSequenceClassification(config).eval()
    import torch

    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[SUPERB_LABELS.index(winner)] = 3.0
    extractor = transformers.Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SR,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    )
    out = tmp_path / f"hubert-{winner}"
    model.save_pretrained(out)
    extractor.save_pretrained(out)
    return out


WHISPER_SPECIALS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|ru|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
]


def tiny_whisper(tmp_path: Path, hf: tuple[Any, Any], *, logits: dict[str, float]) -> Path:
    """A 2+2-layer Whisper whose decoder gives the same logits at every step.

    The decoder's final layer norm has weight 0 and bias 1, so its output is all ones
    and the logit of token ``v`` is the sum of row ``v`` of the (tied) output matrix;
    rows are set so each token in ``logits`` gets that value and every other token 0.
    """
    torch, transformers = hf
    from tokenizers.pre_tokenizers import ByteLevel

    chars = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab["hi"] = len(vocab)
    tok = transformers.WhisperTokenizer(vocab=vocab, merges=[("h", "i")])
    tok.add_special_tokens({"additional_special_tokens": WHISPER_SPECIALS[1:]})
    ids = dict(zip(WHISPER_SPECIALS, tok.convert_tokens_to_ids(WHISPER_SPECIALS), strict=True))
    ids["hi"] = vocab["hi"]
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    d_model = 32
    config = transformers.WhisperConfig(
        vocab_size=len(tok),
        num_mel_bins=80,
        d_model=d_model,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=64,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
    )
    model = transformers.WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.model.decoder.layer_norm.weight.zero_()
        model.model.decoder.layer_norm.bias.fill_(1.0)
        out_w = model.get_output_embeddings().weight
        out_w.zero_()
        for token, value in logits.items():
            out_w[ids[token]] = value / d_model
    model.generation_config = transformers.GenerationConfig(
        decoder_start_token_id=sot,
        eos_token_id=eot,
        pad_token_id=eot,
        bos_token_id=eot,
        lang_to_id={"<|en|>": ids["<|en|>"], "<|ru|>": ids["<|ru|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"],
        is_multilingual=True,
        max_length=64,
    )
    processor = transformers.WhisperProcessor(
        feature_extractor=transformers.WhisperFeatureExtractor(feature_size=80), tokenizer=tok
    )
    out = tmp_path / f"whisper-{len(list(tmp_path.iterdir()))}"
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
