"""The classroom as the routes use it: limits, lock, spotlight, push, pause-all, close.

`Classes` joins the registry (who and what), the class hub (the sockets) and the run manager
(the runs). Refusals are `ClassRefused(status, message)`; the routes turn them into HTTP.
Methods that touch the database are blocking (`*_sync`), the rest run on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging

from ..config import Settings
from ..runs.manager import ControlRefused, Run, RunManager
from ..store import queries
from ..store.store import Store
from .dashboard import RunView, dashboard_message
from .errors import ClassRefused
from .experiments import Experiments
from .help_flags import HelpFlags
from .hub import ClassHub
from .limits import RUNS_RETRY_S, ClassLimits
from .predictions import Predictions
from .race import RaceBoard
from .registry import Classroom, Registry, Student

log = logging.getLogger("layerlab.classes")

ACTIVE = ("queued", "running", "paused")
SPARK_HISTORY = 2000  # records read for the sparkline of a run that has left memory


class Classes:
    def __init__(self, settings: Settings, manager: RunManager, store: Store):
        self.settings = settings
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
        self.limits = ClassLimits(settings)
        self.experiments = Experiments()  # class experiments (experiments.py)
        self.predictions = Predictions()  # predict, then reveal (predictions.py)
        self.help = HelpFlags()  # raised hands and each run's diagnosis (help_flags.py)
        self._stored: dict[str, RunView] = {}  # runs out of memory, read once
        self._loading: set[str] = set()
        self._tasks: set[asyncio.Task] = set()  # the reads in flight (kept from the GC)

    async def start(self) -> None:
        await asyncio.to_thread(self.registry.load)
        self.hub.start()

    async def stop(self) -> None:
        await self.hub.stop()

    # -- runs ----------------------------------------------------------------------------
    def admit(self, student: Student, experiment: dict) -> None:
        """Whether this student may start this run now (raises ClassRefused). Call it right
        before `manager.create`, with no await between, so two requests cannot both pass."""
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
        s = self.settings
        mine = self.active_runs(room.code, student.id)
        if len(mine) >= s.max_runs_per_student:
            raise ClassRefused(
                429,
                f"you already have {len(mine)} active runs, the limit per student "
                "(LAYERLAB_MAX_RUNS_PER_STUDENT); stop one first",
                RUNS_RETRY_S,
            )
        of_class = of_address = of_classes = 0
        rooms = self.registry.classes
        for run in self.manager.runs.values():
            if not run.active or run.class_code is None:
                continue
            of_classes += 1
            of_class += run.class_code == room.code
            owner = rooms.get(run.class_code)
            of_address += (
                room.client is not None and owner is not None and owner.client == room.client
            )
        self.limits.check_runs(room, of_class, of_address, of_classes)

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
        done = 0
        runs = self.active_runs(room.code)
        results = await asyncio.gather(
            *(self._control(run, action) for run in runs), return_exceptions=True
        )
        for result in results:
            done += result is True
        return done

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
        view = self._stored.get(run_id)
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
        results = await asyncio.gather(
            *(self._control(run, "stop") for run in runs), return_exceptions=True
        )
        self.registry.remove(room, student)
        self.hub.remove_student(room.code, student.id)
        return sum(r is True for r in results)
