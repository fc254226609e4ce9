"""The `layerlab` command: check and train experiments from the shell, or serve the playground."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from .config import Settings, get_settings
from .engine.errors import Diverged, ExperimentError


def _load_document(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except OSError as err:
        raise SystemExit(f"layerlab: cannot read {path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise SystemExit(f"layerlab: {path} is not valid JSON: {err}") from None


def _print_errors(err: ExperimentError, out: TextIO) -> None:
    print("The experiment cannot run:", file=out)
    for e in err.errors:
        loc = ".".join(str(part) for part in e["loc"])
        print(f"  {loc}: {e['msg']}", file=out)


def _shape(shape: list[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def format_check(result: dict) -> str:
    """The layer table: index, type, output shape, parameters, then head and total."""
    rows = [("", "input", _shape(result["input_shape"]), "")]
    rows += [
        (str(r["index"]), r["type"], _shape(r["output_shape"]), f"{r['params']:,}")
        for r in result["layers"]
    ]
    head = result["head"]
    rows.append(("head", head["description"], _shape(head["output_shape"]), f"{head['params']:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"{a:>{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d:>{widths[3]}}"
        for a, b, c, d in rows
    ]
    lines.append(f"total parameters: {result['total_params']:,}")
    lines.append(f"task: {result['task']}, loss: {result['loss']}")
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Print each layer's output shape and parameter count, or the errors."""
    from .engine.validation import validate_experiment

    try:
        result = validate_experiment(_load_document(args.experiment), settings)[1]
    except ExperimentError as err:
        _print_errors(err, sys.stderr)
        return 2
    print(format_check(result))
    return 0


def _metrics_text(record: dict) -> str:
    parts = [f"loss {record['loss']:.4g}"]
    if record.get("val_loss") is not None:
        parts.append(f"val_loss {record['val_loss']:.4g}")
    parts += [f"{k} {v:.4g}" for k, v in record["metrics"].items() if v is not None]
    return "  ".join(parts)


# A step below this many multiply-adds (batch x parameters) gains nothing from more threads
# and loses much under contention: C1 (circle, 4-2 tanh) fell from 95 to 19 epochs/s with
# torch's default thread count beside other busy processes on 2 cores.
SMALL_STEP = 2_000_000


def train_threads(trainer, requested: int | None) -> int:
    """Torch threads for `layerlab train`: as requested, else 1 for small steps (and on the
    GPU, where the CPU only feeds it), else the cores this process may use, at most 8."""
    if requested is not None:
        return max(1, requested)
    if trainer.device.type != "cpu":
        return 1
    params = sum(p.numel() for p in trainer.model.parameters())
    if trainer.fast_path or params * trainer.experiment.training.batch_size <= SMALL_STEP:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Train with a live progress line, print the final metrics, optionally save the history."""
    import torch

    from .engine.model import parse_experiment
    from .engine.trainer import Trainer

    doc = _load_document(args.experiment)
    if args.epochs is not None:
        doc.setdefault("training", {})["epochs"] = args.epochs
    if args.device is not None:
        doc.setdefault("training", {})["device"] = args.device
    try:
        trainer = Trainer(parse_experiment(doc, settings), settings)
    except ExperimentError as err:
        _print_errors(err, sys.stderr)
        return 2
    threads = train_threads(trainer, args.threads)
    torch.set_num_threads(threads)
    total = trainer.max_epochs  # `epochs: null` (until paused) trains the server maximum
    live = sys.stdout.isatty()
    started, status = time.perf_counter(), 0
    how = "fast path" if trainer.fast_path else "eager"
    print(f"training on {trainer.device} ({how}, {threads} threads): {total} epochs", flush=True)
    try:
        while not trainer.finished:
            record = trainer.train_epoch()
            rate = record["epoch"] / max(time.perf_counter() - started, 1e-9)
            line = (
                f"epoch {record['epoch']}/{total}  {_metrics_text(record)}  ({rate:.1f} epochs/s)"
            )
            if live:
                print("\r\033[K" + line, end="", flush=True)
            elif record["epoch"] == total or record["epoch"] % max(1, total // 20) == 0:
                print(line, flush=True)
    except Diverged as err:
        print(f"\ndiverged: {err}", file=sys.stderr)
        status = 3
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        status = 130
    if live:
        print()
    if trainer.history:
        print("final: " + _metrics_text(trainer.history[-1]))
    if args.out:
        Path(args.out).write_text(json.dumps(trainer.history, indent=1, allow_nan=False))
        print(f"wrote {len(trainer.history)} epoch records to {args.out}")
    if args.export and status != 3:  # finished or stopped, as the server exports
        _export(trainer, Path(args.export))
    return status


def _export(trainer, directory: Path) -> None:
    """Write model.py (a standalone PyTorch script), weights.safetensors and, where ONNX can
    express the network and its exporter is installed, model.onnx into `directory`."""
    from .engine.export import export_trainer
    from .engine.onnx_export import ONNX_NAME, OnnxUnavailable, export_onnx

    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, content in export_trainer(trainer).items():
            (directory / name).write_bytes(content)
        print(f"exported model.py and weights.safetensors to {directory} (run: python model.py)")
        try:
            onnx = export_onnx(trainer.model, trainer.plan)
        except OnnxUnavailable as err:
            print(f"no {ONNX_NAME}: {err}")
            return
        (directory / ONNX_NAME).write_bytes(onnx)
    except OSError as err:
        raise SystemExit(f"layerlab: cannot export to {directory}: {err.strerror}") from None
    print(f"exported {ONNX_NAME} to {directory} (input `input`, output `output`)")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Start the web server on the embedded defaults, overridden by flags."""
    from .api.server import serve

    updates = {k: v for k, v in vars(args).items() if k in ("host", "port", "workers") and v}
    try:
        settings = Settings.model_validate({**settings.model_dump(), **updates})
    except ValidationError as err:
        raise SystemExit(f"layerlab serve: {err}") from None
    serve(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="print the layer table of an experiment, or its errors")
    p.add_argument("experiment", help="experiment JSON file")
    p.set_defaults(run=cmd_check)
    p = sub.add_parser("train", help="train an experiment with a live progress display")
    p.add_argument("experiment", help="experiment JSON file")
    p.add_argument("--out", help="write the epoch records to this JSON file")
    p.add_argument(
        "--export",
        metavar="DIR",
        help="after training, write model.py (a standalone PyTorch script) and "
        "weights.safetensors into DIR",
    )
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="override training.device")
    p.add_argument(
        "--threads",
        type=int,
        help="torch threads (default: 1 for small networks, else the usable cores, at most 8)",
    )
    p.set_defaults(run=cmd_train)
    p = sub.add_parser("serve", help="start the playground server")
    p.add_argument("--host", help="address to listen on (LAYERLAB_HOST)")
    p.add_argument("--port", type=int, help="port to listen on (LAYERLAB_PORT)")
    p.add_argument("--workers", type=int, help="training processes (LAYERLAB_WORKERS)")
    p.set_defaults(run=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args, get_settings())


if __name__ == "__main__":
    sys.exit(main())
