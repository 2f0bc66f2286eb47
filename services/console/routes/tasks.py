"""Tasks: the ledger, newest first, filtered and paged by keyset; one task; cancel, run again, in bulk."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from services.api.tokens import Scope
from services.console import operations
from services.console.app import client_of, done
from services.console.pages import render
from services.console.routes.common import Seen, settings_of
from services.console.session import action, form_of
from services.contract import CONTRACT
from services.engine.ledger import browse
from services.engine.ledger import tasks as ledger
from services.engine.ledger.states import CANCELLABLE, TaskState
from services.engine.topology import QUEUES
from services.errors import TickworkError
from services.storage.db import as_utc
from services.storage.models import Task

router = APIRouter()
PAGE = 50
BULK_LIMIT = 500  # a bulk action by filter applies to at most this many tasks, newest first


def _time(text: str | None) -> datetime | None:
    """A datetime-local field's value, read as UTC."""
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def search_from(params: dict[str, str]) -> browse.TaskSearch:
    state = params.get("state") or ""
    where = ledger.TaskFilter(
        states=(state,) if state in {s.value for s in TaskState} else (),
        actor=params.get("actor") or None,
        queue=params.get("queue") or None,
        since=_time(params.get("since")),
        until=_time(params.get("until")),
    )
    return browse.TaskSearch(where=where, text=(params.get("q") or "").strip() or None)


FILTERS = ("state", "actor", "queue", "since", "until", "q")


@router.get("/tasks")
def tasks_page(request: Request, who: Seen, after: str | None = None) -> Response:
    params = {name: request.query_params.get(name, "") for name in FILTERS}
    search = search_from(params)
    with operations.reading(settings_of(request)) as db:
        if search.text and not after:
            try:  # a task id: straight to its page (a primary-key lookup)
                found = ledger.get_task(session=db, message_id=search.text)
                return RedirectResponse(f"/console/tasks/{found.message_id}", status_code=303)
            except ledger.TaskNotFound:
                pass
        cursor = browse.Cursor.decode(after) if after else None
        page = browse.page_of_tasks(session=db, search=search, after=cursor, limit=PAGE)
    return render(
        request,
        "tasks.html",
        who,
        page=page,
        params=params,
        filters={k: v for k, v in params.items() if v},
        states=[s.value for s in TaskState],
        actors=sorted(spec.name for spec in CONTRACT),
        queues=QUEUES,
        cancellable=[s.value for s in CANCELLABLE],
        paged=bool(after),
    )


@router.get("/tasks/live")
def tasks_live(request: Request, _: Seen, id: Annotated[list[str] | None, Query(max_length=128)] = None) -> Response:
    """State and progress of the listed tasks (the list page polls this for its running rows)."""
    with operations.reading(settings_of(request)) as db:
        rows = browse.tasks_by_id(session=db, message_ids=(id or [])[:PAGE])
    return JSONResponse({t.message_id: _live(t) for t in rows})


@router.post("/tasks/bulk")
async def bulk(request: Request) -> Response:
    op = (await form_of(request)).get("op")  # the scope depends on the operation (the body is read once)
    scope = Scope.CANCEL if op == "cancel" else Scope.CREATE
    _, form = await action(request, scope)
    settings = settings_of(request)
    back = "/console/tasks?" + "&".join(f"{k}={v}" for k in FILTERS if (v := form.get(k)))
    states = tuple(s.value for s in CANCELLABLE) if op == "cancel" else tuple(s.value for s in TaskState)
    with operations.reading(settings) as db:
        if form.get("by") == "filter":
            ids = browse.matching_ids(
                session=db, search=search_from({k: form.get(k) for k in FILTERS}), states=states, limit=BULK_LIMIT
            )
        else:
            ids = form.getlist("ids")[:BULK_LIMIT]
        rows = browse.tasks_by_id(session=db, message_ids=ids)
    done_ids, skipped = [], []
    for task in rows:
        try:
            if op == "cancel":
                operations.cancel(settings, task.message_id)
            elif op == "rerun":
                operations.run_again(settings, client_of(request), task)
            else:
                raise TickworkError(f"unknown bulk action {op!r}")
            done_ids.append(task.message_id)
        except TickworkError:
            skipped.append(task.message_id)
    request.state.audit_detail = {"op": op, "by": form.get("by") or "selection", "done": len(done_ids)}
    verb = "cancelled" if op == "cancel" else "sent again"
    notice = f"{len(done_ids)} task(s) {verb}" + (f", {len(skipped)} skipped (finished or refused)" if skipped else "")
    return done(request, notice, back)


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: str, who: Seen) -> Response:
    with operations.reading(settings_of(request)) as db:
        task = ledger.get_task(session=db, message_id=task_id)
        reruns = browse.reruns_of(session=db, message_id=task_id)
    return render(
        request,
        "task.html",
        who,
        task=task,
        reruns=reruns,
        timeline=timeline(task),
        live=_live(task),
        cancellable=task.state in {s.value for s in CANCELLABLE},
    )


@router.get("/tasks/{task_id}/live")
def task_live(request: Request, task_id: str, _: Seen) -> Response:
    with operations.reading(settings_of(request)) as db:
        task = ledger.get_task(session=db, message_id=task_id)
    return JSONResponse({**_live(task), "log": task.log_tail.splitlines()[-200:], "timeline": timeline(task)})


@router.post("/tasks/{task_id}/cancel")
async def cancel(request: Request, task_id: str) -> Response:
    await action(request, Scope.CANCEL)
    task = operations.cancel(settings_of(request), task_id)
    running = task.state == TaskState.RUNNING.value
    notice = "cancel sent: its worker interrupts it" if running else "cancelled: its message is skipped when delivered"
    return done(request, notice, f"/console/tasks/{task_id}")


@router.post("/tasks/{task_id}/rerun")
async def rerun(request: Request, task_id: str) -> Response:
    await action(request, Scope.CREATE)
    with operations.reading(settings_of(request)) as db:
        task = ledger.get_task(session=db, message_id=task_id)
    sent = operations.run_again(settings_of(request), client_of(request), task)
    request.state.audit_detail = {"rerun_of": task_id, "task_id": sent.message_id}
    return done(request, f"sent again as task {sent.message_id}", f"/console/tasks/{sent.message_id}")


def _live(task: Task) -> dict[str, object]:
    return {
        "state": task.state,
        "progress": round(task.progress or 0.0, 4),
        "step": task.current_step,
        "attempts": task.attempts,
        "error": f"{task.error_type}: {task.error_message}" if task.error_type else None,
        "cancellable": task.state in {s.value for s in CANCELLABLE},
    }


def timeline(task: Task) -> list[dict[str, str]]:
    """The task's life as dated events."""
    events = [
        (task.created_at, "created", f"{task.state if task.state == 'pending' else 'submitted'} on {task.queue}"),
        (task.scheduled_for, "scheduled for", "delayed until then"),
        (task.started_at, "started", f"attempt {max(task.attempts, 1)} on {task.worker or 'a worker'}"),
        (task.cancel_requested_at, "cancel requested", "every worker was told"),
        (task.finished_at, task.state, task.error_type or task.result_summary or ""),
    ]
    if task.state == TaskState.RETRYING.value:
        events.append((task.updated_at, "retrying", f"after attempt {task.attempts}: {task.error_type or ''}"))
    dated = [(as_utc(at), name, text) for at, name, text in events if at is not None]
    return [
        {"at": at.isoformat(), "event": name, "detail": text} for at, name, text in sorted(dated, key=lambda e: e[0])
    ]
