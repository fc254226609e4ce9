"""A stream's frames built once and written to every viewer's transport (server/api/frames.py)."""

from __future__ import annotations

from live_server import Live, spiral
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from server.api.frames import FrameCache


def parse(frame: bytes) -> Frame:
    """The frame as a client reads it (unmasked, as a server sends it)."""
    reader = StreamReader()
    reader.feed_data(frame)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("the frame is incomplete")


def test_a_message_is_framed_once_per_object():
    cache = FrameCache(size=2)
    small, large = '{"type":"status"}', '{"type":"snapshot","x":"' + "é" * 70_000 + '"}'
    for text in (small, large):
        frame = parse(cache.frame(text))
        assert frame.opcode is Opcode.TEXT and frame.fin
        assert frame.data.decode() == text
    assert cache.frame(small) is cache.frame(small)
    assert (cache.built, cache.shared) == (2, 2)
    equal = "".join(['{"type":', '"status"}'])  # equal, another object: framed on its own
    assert parse(cache.frame(equal)).data.decode() == small
    assert cache.built == 3  # and the cache was full: it started over, bounded
    assert len(cache._frames) == 1
    small_only = FrameCache(size=64, max_bytes=1000)  # bounded in bytes too
    small_only.frame(small)
    small_only.frame(large)
    assert len(small_only._frames) == 1 and small_only.frame(large) is small_only.frame(large)


def test_viewers_of_a_run_are_sent_one_frame_of_each_message(live: Live):
    doc = spiral(epochs=3)
    run = live.http.post("/api/runs", params={"paused": "true"}, json=doc).json()
    viewers = [live.stream(run["id"]) for _ in range(3)]
    try:
        for viewer in viewers:
            assert viewer.read()["type"] == "hello"
        state = live.server.config.app.state
        cache: FrameCache = state.frame_cache
        shared = cache.shared
        assert live.control(run, "step").status_code == 200
        for viewer in viewers:  # each viewer caught up: the one record, the same message
            epoch = viewer.read_until(lambda m: m["type"] == "epoch")
            assert [r["epoch"] for r in epoch["records"]] == [1]
        assert cache.shared - shared >= 2  # the 2nd and 3rd viewer wrote the 1st's frame
        # Caught up (hello sent, nothing queued): written by the publisher, no task woken.
        watching = state.manager.hub.channels[run["id"]].viewers
        assert sorted(v.written_now for v in watching) == [1, 1, 1]
        assert live.control(run, "resume").status_code == 200
        for viewer in viewers:
            messages = viewer.read_to_end()
            assert messages[-1]["status"] == "finished"
            assert viewer.epochs() == [1, 2, 3]
    finally:
        for viewer in viewers:
            viewer.close()
    live.wait_idle()
