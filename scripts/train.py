"""Trains the model only when its inputs changed, and says which model is current.

The model file is named after a hash of everything training reads (data, config, domain, the
tokenizer code and the pinned package versions), so an unchanged checkout reuses its model
without starting Rasa at all.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
RASA = ROOT / ".venv" / "bin" / "rasa"
KEEP_MODELS = 3
INPUTS = [
    "config.yml",
    "domain.yml",
    "data",
    "addons/tokenizer.py",
    "addons/entities.py",
    "addons/reading_features.py",
    "addons/intent_classifier.py",
    "nettrouble/core/japanese.py",
    "constraints.txt",
]


def fingerprint() -> str:
    digest = hashlib.sha256()
    for entry in INPUTS:
        path = ROOT / entry
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS / f"nettrouble-{fingerprint()}.tar.gz"


def _prune() -> None:
    models = sorted(MODELS.glob("nettrouble-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in models[:-KEEP_MODELS]:
        old.unlink()


def train_if_needed() -> Path:
    target = model_path()
    if target.exists():
        print(f"model: {target.relative_to(ROOT)} is current (inputs unchanged)", file=sys.stderr)
        return target
    print(f"model: training {target.name} (training data, config or domain changed)", file=sys.stderr)
    started = time.monotonic()
    env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")
    subprocess.run(
        [
            str(RASA),
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            str(MODELS),
            "--fixed-model-name",
            target.name[: -len(".tar.gz")],
        ],
        # Rasa's progress goes to stderr: stdout carries only the model path, for scripts.
        cwd=ROOT,
        env=env,
        check=True,
        stdout=sys.stderr,
    )
    print(f"model: trained in {time.monotonic() - started:.0f} s", file=sys.stderr)
    _prune()
    return target


if __name__ == "__main__":
    if sys.argv[1:] == ["--path"]:
        print(model_path())
    else:
        try:
            print(train_if_needed())
        except subprocess.CalledProcessError as error:
            print(f"model: training failed (exit {error.returncode}); see the messages above", file=sys.stderr)
            sys.exit(1)
