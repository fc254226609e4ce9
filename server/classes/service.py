"""The classroom as the routes use it: limits, lock, spotlight, push, pause-all, close.

`Classes` joins the registry (who and what), the class hub (the sockets) and the run manager
(the runs). Refusals are `ClassRefused(status, message)`; the routes turn them into HTTP.
Methods that touch the database are blocking (`*_sync`), the rest run on the event loop.

Replicas (`cluster` given): every change to a class is also sent to the other replicas
(sync.py), the dashboard follows students' runs owned elsewhere through Redis (their channel
in this replica's run hub), and pause/stop-all reach those runs through their owners.
"""

from __future__ import annotations

import asyncio
import json
import logging

from ..cluster import Cluster
from ..config import Settings
from ..runs.admission import ClassIdentity
from ..runs.manager import ControlRefused, Quota, Run, RunManager
from ..store import queries
from ..store.store import Store
from .dashboard import RunView, dashboard_message
from .errors import ClassRefused
from .experiments import Experiments
from .help_flags import HelpFlags
from .hub import ClassHub
from .limits import ClassLimits
from .predictions import Predictions
from .race import RaceBoard
from .registry import Classroom, Registry, Student
from .sync import HUB_KINDS, apply, experiment_event, question_event, registry_event

log = logging.getLogger("layerlab.classes")

ACTIVE = ("queued", "running", "paused")
SPARK_HISTORY = 2000  # records read for the sparkline of a run that has left memory


class Classes:
    def __init__(
        self, settings: Settings, manager: RunManager, store: Store, cluster: Cluster | None = None
    ):
        self.settings = settings
        self.cluster = cluster
        self.manager = manager
        self.store = store
        self.registry = Registry(store.engine, store.queue)
        self.hub = ClassHub(
            settings.class_dashboard_interval_s,
            self._dashboard_text,
            settings.class_race_interval_s,
            self._race_text,
        )
        self.races: dict[str, RaceBoard] = {}  # code -> its race board (thumbnail cache)
        self.limits = ClassLimits(settings, cluster.limits if cluster is not None else None)
        self.experiments = Experiments()  # class experiments (experiments.py)
        self.predictions = Predictions()  # predict, then reveal (predictions.py)
        self.help = HelpFlags()  # raised hands and each run's diagnosis (help_flags.py)
        self._stored: dict[str, RunView] = {}  # runs out of memory, read once
        self._loading: set[str] = set()
        self._tasks: set[asyncio.Task] = set()  # the reads in flight (kept from the GC)
        if cluster is not None:
            self.registry.changed = self._changed
            self.hub.forward = cluster.class_events.publish

    async def start(self) -> None:
        if self.cluster is not None:
            await self.cluster.class_events.mark()  # changes from now on are read, after the load
        await asyncio.to_thread(self.registry.load)
        if self.cluster is not None:
            self.cluster.class_events.start(self._apply)
            if self.cluster.takeover is not None:  # a class run taken over stays the class's
                self.cluster.takeover.class_of = self.class_of
        self.hub.start()

    async def stop(self) -> None:
        await self.hub.stop()

    # -- runs ----------------------------------------------------------------------------
    def admit(self, student: Student, experiment: dict) -> list[Quota]:
        """Whether this student may start this run now (raises ClassRefused), and the class's
        quotas to hand to `manager.create` (replicas take them in Redis, atomically with the
        server's). Call it right before `manager.create`, with no await between: the runs
        counted here are the manager's seats (its active runs and those being admitted), and
        `create` holds its run's seat before its first await, so two requests to this process
        cannot both pass."""
        room = self.registry.classes[student.code]
        if room.closed is not None:
            raise ClassRefused(409, f"class {room.code} has been closed by its teacher")
        if room.locked and (room.push is None or room.push != experiment):
            raise ClassRefused(
                423,
                f"the teacher has locked editing in class {room.code}: "
                + ("train the design they pushed" if room.push else "wait until they unlock it"),
            )
        self.experiments.admit(room, student, experiment)
        # Replicas: the class runs other replicas hold count too (server/cluster/census.py).
        elsewhere = list(self.cluster.census.entries()) if self.cluster is not None else []
        here = [(seat.class_code, seat.student) for seat in self.manager.seats()]
        mine = of_class = of_address = of_classes = 0
        rooms = self.registry.classes
        for code, who in here + [(code, who) for _, code, who in elsewhere]:
            if code is None:
                continue
            of_classes += 1
            of_class += code == room.code
            mine += code == room.code and who == student.id
            owner = rooms.get(code)
            of_address += (
                room.client is not None and owner is not None and owner.client == room.client
            )
        quotas = self.limits.run_quotas(room, student.id)
        counts = [mine, of_class, *([of_address] if room.client is not None else []), of_classes]
        self.limits.check_runs(quotas, counts)
        return quotas

    def class_of(self, run_id: str) -> ClassIdentity | None:
        """A run's class, student and quotas (as `admit` gives them), or None outside classes
        (or a class this replica does not know): how a run resumed or taken over from the
        database, which does not say, comes back as its student's (server/cluster/takeover)."""
        member = self.registry.members.get(run_id)
        room = self.registry.classes.get(member.code) if member is not None else None
        if member is None or room is None:
            return None
        return ClassIdentity(
            room.code, member.student_id, self.limits.run_quotas(room, member.student_id)
        )

    def active_runs(self, code: str, student_id: str | None = None) -> list[Run]:
        members = self.registry.members
        out = []
        for run in self.manager.runs.values():
            member = members.get(run.id)
            if (
                run.active
                and member is not None
                and member.code == code
                and student_id in (None, member.student_id)
            ):
                out.append(run)
        return out

    async def control_all(self, room: Classroom, action: str) -> int:
        """Pause, resume or stop every active run of the class; how many took it."""
        runs = self.active_runs(room.code)
        elsewhere = await self._elsewhere(room.code)
        results = await asyncio.gather(
            *(self._control(run, action) for run in runs),
            *(self._control_elsewhere(run_id, status, action) for run_id, status in elsewhere),
            return_exceptions=True,
        )
        return sum(result is True for result in results)

    async def _control(self, run: Run, action: str) -> bool:
        if action == "pause" and run.status == "paused":
            return False
        if action == "resume" and run.status != "paused":
            return False
        try:
            await self.manager.control(run, action)
        except ControlRefused:
            return False
        return True

    # -- replicas ------------------------------------------------------------------------
    def _changed(self, kind: str, thing: object) -> None:
        assert self.cluster is not None
        self.cluster.class_events.publish(registry_event(kind, thing))

    def _apply(self, event: dict) -> None:
        """Another replica's change: to this memory, or to this replica's class pages."""
        if event["k"] in HUB_KINDS:
            self.hub.apply(event)
        else:
            apply(event, self.registry, self.experiments, self.predictions, self.help)

    def shared_experiment(self, code: str) -> None:
        """The class's experiment started or ended here: the other replicas' copy follows."""
        if self.cluster is not None:
            self.cluster.class_events.publish(experiment_event(code, self.experiments))

    def shared_question(self, code: str) -> None:
        """The class's question asked or revealed here."""
        if self.cluster is not None:
            self.cluster.class_events.publish(question_event(code, self.predictions))

    def shared_answer(self, code: str, student_id: str) -> None:
        """A student's answer given here (one answer, so answers given at once all count)."""
        question = self.predictions.by_class.get(code)
        if self.cluster is not None and question is not None:
            self.cluster.class_events.publish(
                {
                    "k": "answer",
                    "code": code,
                    "seq": question.seq,
                    "student": student_id,
                    "answer": question.answers.get(student_id),
                }
            )

    def shared_hand(self, code: str, student_id: str) -> None:
        """A hand raised or lowered here."""
        if self.cluster is not None:
            up = self.help.hand(code, student_id)
            event = {"k": "hand", "code": code, "student": student_id, "up": up}
            self.cluster.class_events.publish(event)

    async def _elsewhere(self, code: str, student_id: str | None = None) -> list[tuple[str, str]]:
        """(run id, status) of the class's active runs that other replicas own."""
        if self.cluster is None:
            return []
        hub = self.manager.hub
        known: list[tuple[str, str]] = []
        unknown: list[str] = []
        for member in self.registry.runs_of(code):
            if student_id not in (None, member.student_id) or self.manager.get(member.run_id):
                continue
            channel = hub.channels.get(member.run_id)
            if channel is not None:
                known.append((member.run_id, channel.status))
            else:
                unknown.append(member.run_id)
        stored = await asyncio.to_thread(lambda: [self.store.get_run(i) for i in unknown])
        for run_id, row in zip(unknown, stored, strict=True):
            known.append((run_id, row.status if row is not None else "queued"))  # not written yet
        return [(run_id, status) for run_id, status in known if status in ACTIVE]

    async def _control_elsewhere(self, run_id: str, status: str, action: str) -> bool:
        assert self.cluster is not None
        if (action == "pause" and status == "paused") or (
            action == "resume" and status != "paused"
        ):
            return False
        return await self.cluster.control_elsewhere(run_id, action)

    # -- class state ---------------------------------------------------------------------
    def announce(self, room: Classroom, change: str) -> None:
        self.hub.broadcast(room.code, {"type": "state", "change": change, "class": room.state()})

    # -- the dashboard -------------------------------------------------------------------
    def view(self, run_id: str) -> RunView | None:
        run = self.manager.get(run_id)
        if run is not None:
            worker = run.worker.pid if run.worker is not None else None
            return RunView(
                run.id,
                run.status,
                run.channel.epoch,
                run.experiment,
                run.channel.history,
                worker,
                run.created,
            )
        channel = self.manager.hub.channels.get(run_id)
        if channel is not None:  # another replica's run, followed here through Redis
            self._stored.pop(run_id, None)  # read again once the channel has gone
            info = channel.info
            return RunView(
                run_id,
                channel.status,
                channel.epoch,
                info.get("experiment") or {},
                channel.history,
                None,
                info.get("created", 0.0),
            )
        view = self._stored.get(run_id)
        if self.cluster is not None and (view is None or view.status in ACTIVE):
            self.cluster.follow(run_id)  # owned by another replica: follow it live
        if view is None and run_id not in self._loading:
            self._loading.add(run_id)
            task = asyncio.get_running_loop().create_task(self._load_stored(run_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return view

    async def _load_stored(self, run_id: str) -> None:
        try:
            stored = await asyncio.to_thread(self.store.get_run, run_id)
            if stored is None:
                return
            texts = await asyncio.to_thread(
                self.store.read, queries.history, run_id, 0, SPARK_HISTORY
            )
            history = [json.loads(t) for t in texts]
            if stored.last and (not history or history[-1].get("epoch") != stored.epoch):
                history.append(stored.last)
            self._stored[run_id] = RunView(
                stored.id,
                stored.status,
                stored.epoch,
                stored.experiment,
                history,
                None,
                stored.created,
            )
        except Exception:  # noqa: BLE001 - the database is down: the row waits, tried again
            log.warning("run %s of a class could not be read for the dashboard", run_id)
        finally:
            self._loading.discard(run_id)

    async def _dashboard_text(self, code: str) -> str | None:
        room = self.registry.classes.get(code)
        if room is None:
            return None
        message = dashboard_message(room, self.registry.runs_of(code), self.view)
        self.help.annotate(code, message["students"], self.manager.get)
        return json.dumps(message, allow_nan=False)

    async def race_message(self, room: Classroom) -> dict:
        return self._race_board(room.code).message(
            room, self.registry.runs_of(room.code), self.view
        )

    async def _race_text(self, code: str) -> str | None:
        room = self.registry.classes.get(code)
        if room is None:
            return None
        return json.dumps(await self.race_message(room), allow_nan=False)

    def _race_board(self, code: str) -> RaceBoard:
        for gone in [c for c in self.races if c not in self.hub.viewers]:
            if gone != code:
                del self.races[gone]  # a class without a race board open keeps no thumbnails
        board = self.races.get(code)
        if board is None:
            board = self.races[code] = RaceBoard(self._snapshot_of)
        return board

    def _snapshot_of(self, run_id: str) -> str | None:
        channel = self.manager.hub.channels.get(run_id)
        return channel.snapshot if channel is not None else None

    async def remove_student(self, room: Classroom, student: Student) -> int:
        """Remove a student: their active runs stop, their token stops working."""
        runs = self.active_runs(room.code, student.id)
        elsewhere = await self._elsewhere(room.code, student.id)
        results = await asyncio.gather(
            *(self._control(run, "stop") for run in runs),
            *(self._control_elsewhere(run_id, status, "stop") for run_id, status in elsewhere),
            return_exceptions=True,
        )
        self.registry.remove(room, student)
        self.hub.remove_student(room.code, student.id)
        return sum(r is True for r in results)
