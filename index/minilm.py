"""The query side of MiniLM: a BERT encoder in plain torch, loaded straight from the model folder.

Why not transformers: importing it (and the torch subsystems it pulls in) costs ~2.5 s before a
user's first answer; a six-layer BERT forward pass is a few lines of torch, and the slow tests
check it against sentence-transformers. Passages are still encoded by sentence-transformers.

Why half-precision weights: one short query reads every weight once and does little arithmetic
with each, so on a CPU its latency is the time to stream the ~42 MB of float32 layer weights.
fbgemm's fp16 kernel keeps them in float16 and computes in float32: about twice as fast, and the
vectors stay within ~1e-7 cosine of float32. Where that kernel is missing or disagrees on a
probe, the encoder keeps float32.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

# The half-precision layers must give the same answers: below this cosine they are not used.
MIN_COSINE = 0.9999

Linear = Callable[[torch.Tensor], torch.Tensor]


def _float32_linear(weight: torch.Tensor, bias: torch.Tensor) -> Linear:
    return lambda x: torch.nn.functional.linear(x, weight, bias)


def _half_linear(weight: torch.Tensor, bias: torch.Tensor) -> Linear:
    packed = torch.ops.quantized.linear_prepack_fp16(weight.contiguous(), bias.contiguous())
    return lambda x: torch.ops.quantized.linear_dynamic_fp16(x, packed)


class BertEncoder:
    """A BERT encoder (absolute positions, GELU) from a state dict and its ``config.json``."""

    def __init__(
        self,
        weights: Mapping[str, torch.Tensor],
        config: Mapping[str, Any],
        *,
        half_weights: bool = True,
    ) -> None:
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported activation {config['hidden_act']!r}")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        w = {k.removeprefix("bert."): v.detach().float() for k, v in weights.items()}
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.layers = int(config["num_hidden_layers"])
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.norms: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.linears: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.norms["embeddings"] = self._pair(w, "embeddings.LayerNorm")
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            parts = [self._pair(w, f"{p}attention.self.{n}") for n in ("query", "key", "value")]
            # One matmul for queries, keys and values instead of three.
            self.linears[f"{i}.qkv"] = (
                torch.cat([weight for weight, _ in parts]),
                torch.cat([bias for _, bias in parts]),
            )
            self.linears[f"{i}.attention_out"] = self._pair(w, f"{p}attention.output.dense")
            self.linears[f"{i}.ffn_in"] = self._pair(w, f"{p}intermediate.dense")
            self.linears[f"{i}.ffn_out"] = self._pair(w, f"{p}output.dense")
            self.norms[f"{i}.attention"] = self._pair(w, f"{p}attention.output.LayerNorm")
            self.norms[f"{i}.ffn"] = self._pair(w, f"{p}output.LayerNorm")
        self._apply = {name: _float32_linear(*pair) for name, pair in self.linears.items()}
        self.weights = "float32"
        if half_weights:
            self._try_half_weights()

    @staticmethod
    def _pair(w: Mapping[str, torch.Tensor], name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return w[f"{name}.weight"], w[f"{name}.bias"]

    def _try_half_weights(self) -> None:
        ids = torch.tensor([[101, 2859, 1998, 3607, 3696, 2019, 2943, 3066, 102]])
        ids = ids.clamp(max=self.word.shape[0] - 1)
        mask = torch.ones_like(ids)
        want = self.forward(ids, mask)
        float32 = self._apply
        try:
            self._apply = {name: _half_linear(*pair) for name, pair in self.linears.items()}
            got = self.forward(ids, mask)
        except (RuntimeError, AttributeError, NotImplementedError) as exc:
            log.info("no fp16-weight kernel here (%s): queries use float32", exc)
            self._apply = float32
            return
        cosine = torch.nn.functional.cosine_similarity(want, got, dim=-1).min().item()
        if cosine < MIN_COSINE:
            log.warning("fp16-weight layers disagree with float32 (cosine %.6f)", cosine)
            self._apply = float32
            return
        self.weights = "float16"
        self.linears = {}  # the packed copies are all that is needed now

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        weight, bias = self.norms[name]
        return torch.nn.functional.layer_norm(x, (self.hidden,), weight, bias, self.eps)

    @torch.inference_mode()
    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Last hidden states ``(batch, tokens, hidden)`` of token ``ids`` under ``mask``."""
        batch, tokens = ids.shape
        x = self.word[ids] + self.position[:tokens] + self.token_type
        x = self._norm(x, "embeddings")
        attend = mask.bool()[:, None, None, :]  # padding is never attended to
        head_dim = self.hidden // self.heads
        for i in range(self.layers):
            qkv = self._apply[f"{i}.qkv"](x).view(batch, tokens, 3, self.heads, head_dim)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)
            context = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attend)
            context = context.transpose(1, 2).reshape(batch, tokens, self.hidden)
            x = self._norm(x + self._apply[f"{i}.attention_out"](context), f"{i}.attention")
            inner = torch.nn.functional.gelu(self._apply[f"{i}.ffn_in"](x))
            x = self._norm(x + self._apply[f"{i}.ffn_out"](inner), f"{i}.ffn")
        return x


class QueryEncoder:
    """Texts → mean-pooled, L2-normalised vectors, as sentence-transformers computes them."""

    def __init__(self, path: Path, max_seq_length: int, *, half_weights: bool = True) -> None:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        # The file's own settings (pad everything to 128) are not what the model was used with.
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        self.bert = BertEncoder(
            load_file(str(path / "model.safetensors")), config, half_weights=half_weights
        )

    @property
    def weights(self) -> str:
        """``float16`` or ``float32``: the layer weights queries run with."""
        return self.bert.weights

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = torch.tensor([e.ids for e in encodings])
        mask = torch.tensor([e.attention_mask for e in encodings])
        with torch.inference_mode():
            tokens = self.bert.forward(ids, mask)
            weights = mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)
