"""The OpenAPI 3.1 document for /api/v1, kept next to the routes it describes."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def errors(*statuses: int) -> dict[str, Any]:
    """Describe error responses for the given statuses."""
    text = {
        400: "Bad input",
        401: "No or invalid token",
        403: "Not allowed",
        404: "Unknown or not visible to you",
        409: "Conflict",
        413: "Too large",
        410: "Unpublished, expired or disabled",
        422: "Invalid content",
        429: "Budget or rate limit reached",
        503: "Feature switched off",
    }
    return {
        str(s): {"description": text[s], "content": {"application/json": {"schema": ERROR}}}
        for s in statuses
    }


def ok(schema: dict[str, Any], status: int = 200, text: str = "OK") -> dict[str, Any]:
    """Describe a JSON success response."""
    return {str(status): {"description": text, "content": {"application/json": {"schema": schema}}}}


def ref(name: str) -> dict[str, Any]:
    """Refer to a schema of the document."""
    return {"$ref": f"#/components/schemas/{name}"}


SITE_ID = {"name": "site_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document."""
    nullable_int = {"type": ["integer", "null"]}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {"type": "array", "items": {"type": "string"}},
                    },
                }
            },
        },
        "Template": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "version": {"type": "string"},
                "categories": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Site": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "slug": {"type": "string"},
                "url": {"type": "string"},
                "name": {"type": "string"},
                "owner": {"type": "string"},
                "owner_name": {"type": "string"},
                "department": {"type": "string"},
                "template": {"type": "string"},
                "template_choice": ref("TemplateChoice"),
                "status": {"type": "string", "enum": ["draft", "published", "unpublished"]},
                "state": {
                    "type": "string",
                    "enum": [
                        "draft",
                        "published",
                        "pending_review",
                        "unpublished",
                        "expired",
                        "disabled",
                        "deleted",
                    ],
                },
                "audience": {"type": "string", "enum": ["owner", "people", "groups", "workspace"]},
                "review": {
                    "type": "object",
                    "properties": {
                        "state": {"type": "string"},
                        "note": {"type": "string"},
                        "reviewed_at": {"type": ["string", "null"]},
                    },
                },
                "categories": {"type": "array", "items": {"type": "string"}},
                "expires_on": {"type": "string", "format": "date"},
                "official": {"type": ["object", "null"]},
                "published_version": nullable_int,
                "latest_version": {"type": "integer"},
                "data_source_note": {"type": "string"},
                "purpose": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        },
        "TemplateChoice": {
            "type": ["object", "null"],
            "description": "How Sitewright chose the template the builder left open; null when "
            "the builder chose it.",
            "properties": {
                "by": {"type": "string", "enum": ["rules", "model"]},
                "template": {"type": "string"},
                "title": {"type": "string"},
                "reason": {"type": "string"},
                "model": {"type": ["string", "null"]},
                "pending": {"type": "boolean", "description": "The job is still asking a model."},
                "message": {"type": "string"},
            },
        },
        "Job": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
                "step": {"type": "string"},
                "error": {"type": ["string", "null"]},
                "site_id": {"type": "integer"},
                "version": nullable_int,
                "attempts": {"type": "integer"},
                "template_choice": ref("TemplateChoice"),
            },
        },
        "Version": {
            "type": "object",
            "properties": {
                "number": {"type": "integer"},
                "created_at": {"type": "string"},
                "author": {"type": "string"},
                "template": {"type": "string"},
                "template_version": {"type": "string"},
                "instruction": {
                    "type": "object",
                    "properties": {"kind": {"type": "string"}, "text": {"type": "string"}},
                },
                "model": {"type": "string"},
                "offline": {"type": "boolean"},
                "tokens": {
                    "type": "object",
                    "properties": {"input": {"type": "integer"}, "output": {"type": "integer"}},
                },
                "sources": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "filename": {"type": "string"},
                            "sha256": {"type": "string"},
                            "size": {"type": "integer"},
                            "uploader": {"type": "string"},
                        },
                    },
                },
                "content": {"type": "object"},
            },
        },
    }
    new_site = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "template": {
                "type": "string",
                "description": "A template name from /templates; empty or left out: Sitewright "
                "chooses (see template_choice on the site and the job).",
            },
            "prompt": {"type": "string"},
            "name": {"type": "string"},
            "department": {"type": "string"},
            "expires_on": {"type": "string", "format": "date"},
            "data_source_note": {"type": "string"},
            "purpose": {"type": "string"},
            "categories": {
                "type": "array",
                "items": {
                    "type": "string",
                    "enum": ["customer", "finance", "legal", "security", "employee"],
                },
            },
            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
        },
    }
    paths: dict[str, Any] = {
        "/templates": {
            "get": {
                "summary": "List the vetted templates",
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {
                                "templates": {"type": "array", "items": ref("Template")}
                            },
                        }
                    ),
                    **errors(401),
                },
            }
        },
        "/sites": {
            "get": {
                "summary": "Sites visible to the caller",
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {"sites": {"type": "array", "items": ref("Site")}},
                        }
                    ),
                    **errors(401),
                },
            },
            "post": {
                "summary": "Create a site; generation runs as a job",
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": new_site}},
                },
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {"site": ref("Site"), "job": ref("Job")},
                        },
                        202,
                        "Accepted",
                    ),
                    **errors(400, 401, 413),
                },
            },
        },
        "/sites/{site_id}": {
            "get": {
                "summary": "One site",
                "parameters": [SITE_ID],
                "responses": {**ok(ref("Site")), **errors(401, 404)},
            }
        },
        "/sites/{site_id}/versions": {
            "get": {
                "summary": "Versions with provenance",
                "parameters": [SITE_ID],
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {"versions": {"type": "array", "items": ref("Version")}},
                        }
                    ),
                    **errors(401, 404),
                },
            }
        },
        "/sites/{site_id}/versions/{number}": {
            "get": {
                "summary": "One version with its content",
                "parameters": [
                    SITE_ID,
                    {
                        "name": "number",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    },
                ],
                "responses": {**ok(ref("Version")), **errors(401, 404)},
            }
        },
        "/sites/{site_id}/jobs": {
            "get": {
                "summary": "The site's generation jobs",
                "parameters": [SITE_ID],
                "responses": {
                    **ok(
                        {
                            "type": "object",
                            "properties": {"jobs": {"type": "array", "items": ref("Job")}},
                        }
                    ),
                    **errors(401, 404),
                },
            }
        },
        "/sites/{site_id}/publish": {
            "post": {
                "summary": "Publish a version",
                "parameters": [SITE_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["version"],
                                "properties": {
                                    "version": {"type": "integer"},
                                    "audience": {"type": "string", "enum": ["owner", "workspace"]},
                                },
                            }
                        }
                    },
                },
                "responses": {**ok(ref("Site")), **errors(400, 401, 404)},
            }
        },
        "/jobs/{job_id}": {
            "get": {
                "summary": "A job's status",
                "parameters": [
                    {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {**ok(ref("Job")), **errors(401, 404)},
            }
        },
        "/jobs/{job_id}/retry": {
            "post": {
                "summary": "Retry a failed job with its saved inputs",
                "parameters": [
                    {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {**ok(ref("Job"), 202, "Accepted"), **errors(401, 404, 409)},
            }
        },
    }
    from app.web.api import OPENAPI_PATHS, OPENAPI_SCHEMAS

    schemas.update(OPENAPI_SCHEMAS)
    for path, operations in OPENAPI_PATHS.items():
        paths.setdefault(path, {}).update(operations)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sitewright API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
        "paths": paths,
    }
