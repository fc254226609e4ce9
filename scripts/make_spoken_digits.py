"""Build server/engine/datasets/shipped/spoken_digits.npz: the ten digits spoken by espeak-ng
(Debian: `apt-get install -y espeak-ng`) in many voices, speeds and pitches, with noise, as
log-mel spectrograms (server/engine/datasets/spectrogram.py), stored as uint8.

Run once by a maintainer; the file is committed so neither CI nor a classroom needs espeak-ng:
    .venv/bin/python scripts/make_spoken_digits.py [--per-digit 200] [--seed 0]

The file holds `images` uint8 (N, MELS, FRAMES) (value / 255 is the spectrogram), `labels`
int64 (N,), `voices` (N,) the espeak voice of each clip, and `words` (10,).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import wave
from pathlib import Path

import numpy as np

from server.engine.datasets.spectrogram import CLIP_SAMPLES, SAMPLE_RATE, log_mel, resample

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
LANGUAGES = ["en-gb", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan"]
VARIANTS = ["", "+m1", "+m3", "+m5", "+f1", "+f2", "+f4", "+klatt", "+croak"]
OUT = Path(__file__).resolve().parent.parent / "server/engine/datasets/shipped/spoken_digits.npz"


def speak(word: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng's audio for `word`, mono float in -1..1 at SAMPLE_RATE."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as f:
        rate = f.getframerate()
        raw = np.frombuffer(f.readframes(f.getnframes()), dtype=np.int16)
    return resample(raw / 32768.0, rate)


def place(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Trim the silence around the word, put it at a random offset in a clip, add noise
    (white at 12..35 dB below the word, sometimes a low hum)."""
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    word = audio[loud[0] : loud[-1] + 1][:CLIP_SAMPLES]
    clip = np.zeros(CLIP_SAMPLES)
    start = int(rng.integers(0, CLIP_SAMPLES - len(word) + 1))
    clip[start : start + len(word)] = word * rng.uniform(0.3, 1.0)
    rms = np.sqrt((word**2).mean())
    clip += rms * 10 ** (-rng.uniform(12, 35) / 20) * rng.standard_normal(CLIP_SAMPLES)
    if rng.random() < 0.3:
        t = np.arange(CLIP_SAMPLES) / SAMPLE_RATE
        clip += 0.2 * rms * np.sin(2 * np.pi * rng.uniform(50, 120) * t)
    return clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-digit", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    images, labels, voices = [], [], []
    for label, word in enumerate(WORDS):
        for _ in range(args.per_digit):
            voice = str(rng.choice(LANGUAGES)) + str(rng.choice(VARIANTS))
            speed, pitch = int(rng.integers(110, 230)), int(rng.integers(10, 90))
            spec = log_mel(place(speak(word, voice, speed, pitch), rng))
            images.append(np.rint(spec * 255).astype(np.uint8))
            labels.append(label)
            voices.append(voice)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT,
        images=np.stack(images),
        labels=np.asarray(labels, dtype=np.int64),
        voices=np.asarray(voices),
        words=np.asarray(WORDS),
    )
    print(f"wrote {len(images)} clips to {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
