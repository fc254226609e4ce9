"""The typed messages between server and worker: what the worker's tuples decode to."""

from __future__ import annotations

import pytest

from server.runs.protocol import (
    Accepted,
    Ack,
    Ask,
    CancelAsk,
    Control,
    Epoch,
    ProtocolError,
    Query,
    Ready,
    Reply,
    Shutdown,
    Snapshot,
    Start,
    Status,
    decode,
    decode_command,
    wire,
)


def test_commands_keep_the_wire_tuples_the_worker_loop_reads():
    assert Start("r", {"a": 1}, False).wire() == ("start", "r", {"a": 1}, False)
    resume = {"path": "p", "history": []}
    assert Start("r", {}, True, resume).wire() == ("start", "r", {}, True, resume)
    assert Control(3, "r", "set_lr", 0.1).wire() == ("control", 3, "r", "set_lr", 0.1)
    assert Ask(4, "r", [1, 2], True, None).wire() == ("ask", 4, "r", [1, 2], True, None)
    assert Shutdown().wire() == ("shutdown",)


def test_worker_messages_decode_to_their_types_and_back():
    cases = [
        (("ready", 123), Ready(123)),
        (("accepted", "r"), Accepted("r")),
        (("epoch", "r", {"epoch": 1}), Epoch("r", {"epoch": 1})),
        (("snapshot", "r", 2, "{}"), Snapshot("r", 2, "{}", None)),
        (("snapshot", "r", 2, "{}", "[]"), Snapshot("r", 2, "{}", "[]")),
        (("status", "r", "paused", None, 4), Status("r", "paused", None, 4)),
        (("ack", 5, "r", None), Ack(5, "r", None)),
        (("reply", 6, "r", None, '{"x":1}'), Reply(6, "r", None, None, '{"x":1}')),
        (("reply", 7, "r", ("input", "bad"), None), Reply(7, "r", "input", "bad", None)),
    ]
    for raw, typed in cases:
        assert decode(raw) == typed
    assert wire(Reply(7, "r", "input", "bad", None)) == ("reply", 7, "r", ("input", "bad"), None)
    assert wire(Status("r", "paused", None, 4)) == ("status", "r", "paused", None, 4)


@pytest.mark.parametrize(
    "raw",
    [("nonsense", 1), ("epoch", "r"), ("status", "r", "x", None, 1, 2), [], ("ack",), "epoch", ()],
)
def test_a_garbled_message_is_refused(raw):
    with pytest.raises(ProtocolError):
        decode(raw)


def test_the_worker_reads_every_command_back_as_its_type():
    resume = {"path": "p", "history": []}
    commands = [
        Start("r", {"a": 1}, False),
        Start("r", {}, True, resume),
        Control(3, "r", "set_lr", 0.1),
        Control(None, "r", "watch", True),
        Ask(4, "r", [1, 2], True, None),
        Query(5, "r", "project", {"layer": 0}),
        CancelAsk(4),
        Shutdown(),
    ]
    for command in commands:
        assert decode_command(command.wire()) == command


@pytest.mark.parametrize(
    "raw",
    [
        ("frobnicate", 1),
        ("start", "r"),
        ("start", "r", {}, True, None, "extra"),
        ("control", 1, "r", "pause", None, "extra"),
        ("ask", 1, "r", [0]),
        ("cancel_ask",),
        ("shutdown", True),
        ("epoch", "r", {}),  # a worker message, not a command
        [],
        (),
        "shutdown",
        (1, 2),
    ],
)
def test_a_garbled_command_is_refused(raw):
    with pytest.raises(ProtocolError):
        decode_command(raw)
