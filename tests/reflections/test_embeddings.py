"""The sentence-embedding model loads from the installed package with no network at all."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from reflections import embeddings

ROOT = Path(__file__).resolve().parents[2]


def test_loading_and_embedding_need_no_network(tmp_path):
    # A fresh interpreter in which every connection attempt fails, with an empty
    # Hugging Face cache and none of the offline variables set from outside.
    script = textwrap.dedent("""
        import socket

        attempts = []

        def refuse(*args, **kwargs):
            attempts.append(args[1:] or kwargs)
            raise OSError("network is disabled in this test")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from reflections.embeddings import embed
        vectors = embed(["I did not understand teacher forcing", "softmax turns logits into probabilities"])
        import os
        print(vectors.shape, round(float((vectors[0] ** 2).sum()), 3), os.environ["HF_HUB_OFFLINE"], len(attempts))
    """)
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "TRANSFORMERS_"))}
    environment.update(HF_HOME=str(tmp_path / "hf"), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    # Shape, unit length, offline mode on, and not one attempt to connect (even a caught one).
    assert result.stdout.strip().splitlines()[-1] == "(2, 384) 1.0 1 0"
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.safetensors"))


def test_the_model_is_loaded_once_per_process():
    assert embeddings.load_embedding_model() is embeddings.load_embedding_model()


def test_embeddings_are_unit_vectors_and_similar_texts_are_close():
    vectors = embeddings.embed(["What is teacher forcing?", "I don't get teacher forcing", "Lucie was suspended"])
    assert vectors.shape == (3, embeddings.DIMENSIONS)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_embedding_nothing_loads_nothing():
    assert embeddings.embed([]).shape == (0, embeddings.DIMENSIONS)


def test_progress_is_reported_per_batch():
    seen = []
    texts = [f"answer {n}" for n in range(embeddings.BATCH_SIZE + 3)]
    embeddings.embed(texts, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(embeddings.BATCH_SIZE, embeddings.BATCH_SIZE + 3), (embeddings.BATCH_SIZE + 3,) * 2]


def test_a_busy_machine_gets_one_thread_and_an_idle_one_every_core(monkeypatch):
    monkeypatch.setattr(embeddings.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(embeddings.os, "getloadavg", lambda: (4.5, 4.0, 3.0))
    assert embeddings.embedding_threads() == 1
    monkeypatch.setattr(embeddings.os, "getloadavg", lambda: (0.1, 0.5, 1.0))
    assert embeddings.embedding_threads() == 2


def test_answers_are_cut_to_the_length_the_model_was_trained_on():
    model = embeddings.load_embedding_model()
    assert model.max_seq_length == embeddings.MAX_TOKENS == 128
    essay = "attention " * 400
    assert np.allclose(embeddings.embed([essay]), embeddings.embed([essay + " softmax"]), atol=1e-6)


def test_the_vectors_are_the_models_own_in_float32_and_within_a_hair_of_them_in_bfloat16(monkeypatch):
    texts = ["I did not get why the keys are scaled by the square root of d_k", "none", "BPE merges",
             "the difference between teacher forcing and feeding back the model's own predictions " * 3]
    reference = embeddings.load_embedding_model().encode(texts, normalize_embeddings=True)
    monkeypatch.setattr(embeddings, "native_bfloat16", lambda: False)
    assert np.allclose(embeddings.embed(texts), reference, atol=1e-5)
    monkeypatch.setattr(embeddings, "native_bfloat16", lambda: True)
    # The stored embeddings of answers embedded in float32 stay comparable with new ones.
    assert (embeddings.embed(texts) * reference).sum(axis=1).min() > 0.9995


class RecordingModel:
    """The real model, recording each batch's padded length and its answers' own lengths."""

    def __init__(self):
        self.model = embeddings.load_embedding_model()
        self.tokenizer = self.model.tokenizer
        self.batches = []

    def __call__(self, features):
        mask = features["attention_mask"]
        self.batches.append((mask.shape[1], mask.sum(dim=1).tolist()))
        return self.model(features)


def test_answers_are_batched_by_their_number_of_word_pieces():
    short = [f"softmax {n}" for n in range(embeddings.BATCH_SIZE)]
    long = [f"why the decoder gets the ground truth tokens during training, case {n}, with teacher forcing"
            for n in range(embeddings.BATCH_SIZE)]
    mixed = [text for pair in zip(short, long, strict=True) for text in pair]
    recorder = RecordingModel()
    vectors = embeddings._embed_by_length(recorder, mixed, None)
    # Two batches, each padded to no more than its own answers need: no short answer pays for a long one.
    assert len(recorder.batches) == 2
    for padded, lengths in recorder.batches:
        assert padded == max(lengths)
        assert max(lengths) - min(lengths) <= 2
    # And every vector is back in its answer's row.
    alone = embeddings.embed(mixed[:2])
    assert (vectors[:2] * alone).sum(axis=1).min() > 0.999
