"""API routes for a site's content: revisions, manual edits, restore, diffs and comments."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

import app.services.annotations as annotation_service
from app.access import Action
from app.auth import current_principal, require_user
from app.db import get_session
from app.errors import BadInput
from app.models import SiteVersion
from app.services import history
from app.services.content_edit import edit_content
from app.services.content_versions import visible_site
from app.services.revisions import request_revision
from app.services.sites import Upload, get_site, get_version
from app.services.wiring import get_deps
from app.web.api import OPENAPI_PATHS, OPENAPI_SCHEMAS, bp, json_body
from app.web.api.openapi import SITE_ID, errors, ok, ref
from app.web.api.sites import version_json
from app.web.ui import job_state

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def content_version_json(version: SiteVersion) -> dict[str, Any]:
    """Describe a version with its provenance and where it came from."""
    body = version_json(version)
    body.update(
        parent=version.parent_number,
        changed_paths=list(version.changed_paths or []),
        annotation_ids=list(version.annotation_ids or []),
    )
    return body


def change_json(change: history.Change) -> dict[str, Any]:
    """Describe one change between two versions."""
    return {
        "path": change.path,
        "op": change.op,
        "old": change.old,
        "new": change.new,
        "section": change.section,
        "label": change.label,
        "summary": change.summary,
    }


def _revision_inputs() -> tuple[str, list[Any], bool, list[Upload]]:
    if request.mimetype == "multipart/form-data":
        uploads = [
            Upload(f.filename or "upload", f.read())
            for f in request.files.getlist("files")
            if f.filename
        ]
        form = request.form
        regenerate = form.get("regenerate", "").strip().lower() in TRUE_WORDS
        return form.get("instruction", ""), form.getlist("annotation_ids"), regenerate, uploads
    body = json_body()
    instruction = body.get("instruction", "")
    ids = body.get("annotation_ids") or []
    regenerate = body.get("regenerate", False)
    if not isinstance(instruction, str):
        raise BadInput("'instruction' must be text.")
    if not isinstance(ids, list):
        raise BadInput("'annotation_ids' must be a list of comment ids.")
    if not isinstance(regenerate, bool):
        raise BadInput("'regenerate' must be true or false.")
    return instruction, ids, regenerate, []


@bp.post("/sites/<int:site_id>/revisions")
def revise(site_id: int) -> tuple[Response, int]:
    """Ask for a revision (instruction, comments, new files) or a regeneration; runs as a job."""
    user = require_user()
    instruction, ids, regenerate, uploads = _revision_inputs()
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    job = request_revision(
        get_session(), get_deps(), site, user, instruction, uploads, ids, regenerate
    )
    get_deps().runner.submit(job.id)
    return jsonify(job=job_state(job)), 202


@bp.put("/sites/<int:site_id>/content")
def put_content(site_id: int) -> tuple[Response, int]:
    """Edit the content by hand with a JSON Patch on the latest version."""
    body = json_body()
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    version = edit_content(
        get_session(), get_deps(), site, require_user(), body.get("base_version"), body.get("patch")
    )
    return jsonify(content_version_json(version)), 201


@bp.post("/sites/<int:site_id>/restore")
def restore(site_id: int) -> tuple[Response, int]:
    """Make a new version equal to an earlier one."""
    number = json_body().get("version")
    if not isinstance(number, int) or isinstance(number, bool):
        raise BadInput("'version' must be a version number.")
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    version = history.restore_version(get_session(), get_deps(), site, number, require_user())
    return jsonify(content_version_json(version)), 201


@bp.get("/sites/<int:site_id>/diff")
def diff(site_id: int) -> Response:
    """List the changes between two versions, by content path."""
    site = get_site(get_session(), current_principal(), site_id, Action.VIEW_DRAFTS)
    start, end = history.version_numbers(site, request.args.get("from"), request.args.get("to"))
    old = get_version(get_session(), site, start)
    new = get_version(get_session(), site, end)
    template = get_deps().registry.get(site.template)
    if template is None:
        raise BadInput(f"The template {site.template!r} is no longer installed.")
    changes = history.content_changes(template, old.content, new.content)
    return jsonify({"from": start, "to": end, "changes": [change_json(c) for c in changes]})


@bp.get("/sites/<int:site_id>/annotations")
def list_annotations(site_id: int) -> Response:
    """List the comments the caller may read."""
    who = current_principal()
    site = visible_site(get_session(), who, site_id)
    rows = annotation_service.list_annotations(
        get_session(), site, who, request.args.get("status") or None
    )
    return jsonify(annotations=[annotation_service.annotation_json(row) for row in rows])


@bp.post("/sites/<int:site_id>/annotations")
def create_annotation(site_id: int) -> tuple[Response, int]:
    """Comment on an element of the page, anchored to its JSON Pointer."""
    body = json_body()
    version = body.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise BadInput("'version' must be a version number.")
    who = current_principal()
    site = get_site(get_session(), who, site_id, Action.COMMENT)
    row = annotation_service.create_annotation(
        get_session(), site, require_user(), who, body.get("path"), body.get("body"), version
    )
    return jsonify(annotation_service.annotation_json(row)), 201


@bp.patch("/sites/<int:site_id>/annotations/<int:annotation_id>")
def update_annotation(site_id: int, annotation_id: int) -> Response:
    """Resolve a comment."""
    if json_body().get("status") != "resolved":
        raise BadInput('Send {"status": "resolved"} to resolve a comment.')
    site = get_site(get_session(), current_principal(), site_id, Action.EDIT)
    row = annotation_service.resolve_annotation(get_session(), site, annotation_id, require_user())
    return jsonify(annotation_service.annotation_json(row))


def _json(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ANNOTATION_ID = {
    "name": "annotation_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
}
_REVISION = {
    "instruction": {"type": "string", "maxLength": 4000},
    "annotation_ids": {"type": "array", "items": {"type": "integer"}},
    "regenerate": {"type": "boolean"},
}
_VERSION_CREATED = ok(ref("ContentVersion"), 201, "The new version")

OPENAPI_SCHEMAS.update(
    {
        "ContentVersion": {
            "allOf": [ref("Version")],
            "type": "object",
            "properties": {
                "parent": {"type": ["integer", "null"]},
                "changed_paths": {"type": "array", "items": {"type": "string"}},
                "annotation_ids": {"type": "array", "items": {"type": "integer"}},
            },
        },
        "Annotation": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "site_id": {"type": "integer"},
                "version": {"type": "integer"},
                "path": {"type": "string"},
                "quote": {"type": "string"},
                "body": {"type": "string"},
                "author": {"type": "string"},
                "author_name": {"type": "string"},
                "created_at": {"type": "string"},
                "status": {"type": "string", "enum": ["open", "resolved", "orphaned"]},
                "anchored_version": {"type": "integer"},
                "resolved_version": {"type": ["integer", "null"]},
                "resolved_at": {"type": ["string", "null"]},
            },
        },
        "Change": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "op": {"type": "string", "enum": ["added", "removed", "changed"]},
                "old": {},
                "new": {},
                "section": {"type": "string"},
                "label": {"type": "string"},
                "summary": {"type": "string"},
            },
        },
    }
)

OPENAPI_PATHS.update(
    {
        "/sites/{site_id}/revisions": {
            "post": {
                "summary": "Revise by instruction, apply comments, add files, or regenerate",
                "parameters": [SITE_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": _REVISION}},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    **_REVISION,
                                    "regenerate": {"type": "string", "enum": ["true", "false"]},
                                    "files": {
                                        "type": "array",
                                        "items": {"type": "string", "format": "binary"},
                                    },
                                },
                            }
                        },
                    },
                },
                "responses": {
                    **ok({"type": "object", "properties": {"job": ref("Job")}}, 202, "Accepted"),
                    **errors(400, 401, 403, 404, 409, 410, 413),
                },
            }
        },
        "/sites/{site_id}/content": {
            "put": {
                "summary": "Edit the content by hand (JSON Patch on the latest version)",
                "parameters": [SITE_ID],
                "requestBody": _json(
                    {
                        "base_version": {"type": "integer"},
                        "patch": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["op", "path"],
                                "properties": {
                                    "op": {"type": "string", "enum": ["add", "remove", "replace"]},
                                    "path": {"type": "string"},
                                    "value": {},
                                },
                            },
                        },
                    },
                    ["base_version", "patch"],
                ),
                "responses": {
                    **_VERSION_CREATED,
                    **errors(400, 401, 403, 404, 409, 410, 422),
                },
            }
        },
        "/sites/{site_id}/restore": {
            "post": {
                "summary": "Make a new version equal to an earlier one",
                "parameters": [SITE_ID],
                "requestBody": _json({"version": {"type": "integer"}}, ["version"]),
                "responses": {**_VERSION_CREATED, **errors(400, 401, 403, 404, 409, 410)},
            }
        },
        "/sites/{site_id}/diff": {
            "get": {
                "summary": "Changes between two versions, by content path",
                "parameters": [
                    SITE_ID,
                    {"name": "from", "in": "query", "schema": {"type": "integer"}},
                    {"name": "to", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {
                                "from": {"type": "integer"},
                                "to": {"type": "integer"},
                                "changes": {"type": "array", "items": ref("Change")},
                            },
                        }
                    ),
                    **errors(400, 401, 403, 404, 410),
                },
            }
        },
        "/sites/{site_id}/annotations": {
            "get": {
                "summary": "Comments the caller may read",
                "parameters": [
                    SITE_ID,
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["open", "resolved", "orphaned"]},
                    },
                ],
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {
                                "annotations": {"type": "array", "items": ref("Annotation")}
                            },
                        }
                    ),
                    **errors(400, 401, 403, 404, 410),
                },
            },
            "post": {
                "summary": "Comment on an element (JSON Pointer) of a version",
                "parameters": [SITE_ID],
                "requestBody": _json(
                    {
                        "path": {"type": "string"},
                        "body": {"type": "string", "maxLength": 4000},
                        "version": {"type": "integer"},
                    },
                    ["path", "body"],
                ),
                "responses": {
                    **ok(ref("Annotation"), 201, "Created"),
                    **errors(400, 401, 403, 404, 410),
                },
            },
        },
        "/sites/{site_id}/annotations/{annotation_id}": {
            "patch": {
                "summary": "Resolve a comment",
                "parameters": [SITE_ID, _ANNOTATION_ID],
                "requestBody": _json(
                    {"status": {"type": "string", "enum": ["resolved"]}}, ["status"]
                ),
                "responses": {**ok(ref("Annotation")), **errors(400, 401, 403, 404, 410)},
            }
        },
    }
)
