"""Model ids, model facts and request-body rules for Anthropic Claude on Amazon Bedrock.

The one place the course writes those rules down, in three parts:

- :mod:`.catalogue`: one row per Claude model (ids, limits, thinking, sampling, caching, lifecycle), and
  :mod:`.model_ids`: :func:`resolve_model`, which answers an id the way Bedrock would, and the ids the Messages
  API route takes on each host;
- :mod:`.body`: the request-body checks (:func:`check_body`: the Messages shape, calling :mod:`.basics`
  (limits, :func:`parse_body`), :mod:`.sampling`, :mod:`.thinking`, :mod:`.tools`, :mod:`.caching` and
  :mod:`.legacy` for Text Completions bodies);
- :mod:`.messages`: Bedrock's texts, :class:`Problem` and :func:`validation_message`.

The local endpoint answers bad requests with them, and ``helpers.payloads`` stops a bad body before it
leaves the learner's machine; one copy, so the two never disagree. Pure: standard library only.
"""

from __future__ import annotations

from .basics import (
    ANTHROPIC_VERSION,
    IMAGE_MEDIA_TYPES,
    MAX_BODY_BYTES,
    MAX_CACHE_CHECKPOINTS,
    MAX_STOP_SEQUENCES,
    is_accepted_version,
    json_kind,
    parse_body,
)
from .body import check_body
from .caching import cache_checkpoints
from .catalogue import (
    CROSS_REGION_PREFIXES,
    DEFAULT_MODEL_ID,
    MODELS,
    SOURCES,
    ModelInfo,
    current_models,
)
from .messages import ERROR_TYPE_SUFFIX, Problem, validation_message
from .model_ids import ModelLookupError, ModelRef, identify_model, recommended_replacement, resolve_model

__all__ = [
    "ANTHROPIC_VERSION",
    "CROSS_REGION_PREFIXES",
    "DEFAULT_MODEL_ID",
    "ERROR_TYPE_SUFFIX",
    "IMAGE_MEDIA_TYPES",
    "MAX_BODY_BYTES",
    "MAX_CACHE_CHECKPOINTS",
    "MAX_STOP_SEQUENCES",
    "MODELS",
    "SOURCES",
    "ModelInfo",
    "ModelLookupError",
    "ModelRef",
    "Problem",
    "cache_checkpoints",
    "check_body",
    "current_models",
    "identify_model",
    "is_accepted_version",
    "json_kind",
    "parse_body",
    "recommended_replacement",
    "resolve_model",
    "validation_message",
]
